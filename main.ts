/**
 * The qistream CLI: `qistream [--config PATH] <command> [options]`. This file only parses the global
 * options and dispatches; each subcommand lives in `cli/<name>.ts`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { COMMANDS, EXIT_OK, EXIT_USAGE, helpText } from "./cli/mod.ts";

/**
 * Runs the CLI.
 *
 * @param argv the arguments after the program name
 * @param signal stops a long-running command (tests)
 * @returns the exit code
 *
 * @example
 * ```ts
 * Deno.exit(await main(["start", "--config", "pipeline.yaml"]));
 * ```
 */
export async function main(argv: string[], signal?: AbortSignal): Promise<number> {
  const globalOptions = {
    config: { type: "string", short: "c" },
    help: { type: "boolean", short: "h" },
  } as const;
  const { tokens } = parseArgs({
    args: argv,
    options: globalOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((t) => t.kind === "positional");
  const split = first === undefined ? argv.length : first.index;

  let globals: { config?: string; help?: boolean };
  try {
    ({ values: globals } = parseArgs({ args: argv.slice(0, split), options: globalOptions, strict: true }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${helpText(COMMANDS)}`);
    return EXIT_USAGE;
  }
  const name = first?.kind === "positional" ? first.value : undefined;
  if (name === undefined) {
    if (globals.help) {
      console.log(helpText(COMMANDS));
      return EXIT_OK;
    }
    console.error(helpText(COMMANDS));
    return EXIT_USAGE;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`Unknown command "${name}".\n\n${helpText(COMMANDS)}`);
    return EXIT_USAGE;
  }
  const args = argv.slice(split + 1);
  if (globals.help) args.push("--help");
  return await command.run(args, { config: globals.config, commands: COMMANDS, signal });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
