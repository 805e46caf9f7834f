/**
 * The CLI's subcommands. Add a subcommand by writing `cli/<name>.ts` exporting a {@link Command} and
 * listing it in {@link COMMANDS}; `main.ts` dispatches to it.
 *
 * @module
 */
import { askCommand } from "./ask.ts";
import { benchCommand } from "./bench.ts";
import type { Command } from "./command.ts";
import { dlqCommand } from "./dlq.ts";
import { docsCommand } from "./docs.ts";
import { helpCommand } from "./help.ts";
import { schemasCommand } from "./schemas.ts";
import { startCommand } from "./start.ts";
import { toolsCommand } from "./tools.ts";
import { topicsCommand } from "./topics.ts";

export { type Command, type CommandContext, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
export { helpText } from "./help.ts";

/** Every subcommand, in the order `qistream help` lists them. */
export const COMMANDS: readonly Command[] = [
  startCommand,
  topicsCommand,
  schemasCommand,
  benchCommand,
  toolsCommand,
  askCommand,
  dlqCommand,
  docsCommand,
  helpCommand,
];
