/**
 * The shape of one CLI subcommand. Each subcommand lives in its own file (`cli/start.ts`, later
 * `cli/topics.ts`, ...) and is listed once in `cli/mod.ts`.
 *
 * @module
 */

/** What `main.ts` hands to a subcommand. */
export interface CommandContext {
  /** `--config` given before the subcommand (a subcommand's own `--config` wins). */
  readonly config?: string;
  /** Every registered command (for `help`). */
  readonly commands: readonly Command[];
  /** Aborts to stop a long-running command (tests); OS signals are handled by the command itself. */
  readonly signal?: AbortSignal;
}

/** One subcommand. */
export interface Command {
  /** The word typed after `qistream`, e.g. `start`. */
  readonly name: string;
  /** One line for `qistream help`. */
  readonly summary: string;
  /** Full usage text for `qistream <name> --help`. */
  readonly usage: string;
  /**
   * Runs the command.
   * @param args the arguments after the subcommand name
   * @param context global options and the command list
   * @returns the process exit code (0 ok, 1 failure, 2 usage or configuration error)
   */
  run(args: string[], context: CommandContext): Promise<number>;
}

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code for a runtime failure. */
export const EXIT_FAILURE = 1;
/** Exit code for bad usage or an invalid configuration. */
export const EXIT_USAGE = 2;
