/**
 * The argument parsing every subcommand with a `--help` flag starts with: strict `parseArgs`, the usage text on
 * a bad option, and the usage text on `--help`.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { EXIT_OK, EXIT_USAGE } from "./command.ts";

/** What {@link parseCommandArgs} returns when the command should go on: `parseArgs`' result for `options`. */
export type ParsedCommandArgs<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>
>;

/**
 * Parses a subcommand's arguments strictly. On an unknown or malformed option it prints the error and `usage`
 * to stderr and returns {@link EXIT_USAGE}; on `--help` it prints `usage` to stdout and returns {@link EXIT_OK}.
 *
 * @param args the arguments after the subcommand name
 * @param usage the command's usage text
 * @param options the `parseArgs` options; a boolean `help` option is the one that prints the usage
 * @param allowPositionals whether words other than options are accepted
 * @returns the parsed values and positionals, or the exit code to return at once
 *
 * @example
 * ```ts
 * const parsed = parseCommandArgs(args, USAGE, {
 *   config: { type: "string", short: "c" },
 *   help: { type: "boolean", short: "h" },
 * }, false);
 * if (typeof parsed === "number") return parsed;
 * console.log(parsed.values.config);
 * ```
 */
export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(
  args: string[],
  usage: string,
  options: O,
  allowPositionals: boolean,
): ParsedCommandArgs<O> | number {
  let parsed: ParsedCommandArgs<O>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    return EXIT_USAGE;
  }
  if ((parsed.values as { help?: unknown }).help) {
    console.log(usage);
    return EXIT_OK;
  }
  return parsed;
}
