/**
 * `qistream help [command]`: lists the subcommands, or prints one subcommand's usage.
 *
 * @module
 */
import { type Command, EXIT_OK, EXIT_USAGE } from "./command.ts";

/**
 * The top-level usage text.
 *
 * @param commands every registered command
 * @returns the text printed by `qistream help` and `qistream --help`
 */
export function helpText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "qistream — real-time market-data pipeline (actors on Deno, Kafka or an embedded log)",
    "",
    "Usage: qistream [--config PATH] <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Global options:",
    "  -c, --config PATH  pipeline file (default: $QISTREAM_CONFIG, else pipeline.yaml)",
    "  -h, --help         show help (also: qistream <command> --help)",
    "",
    "Environment: QISTREAM_LOG_LEVEL (trace|debug|info|warning|error), QISTREAM_LOG_FORMAT (auto|json|pretty),",
    "KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, CLICKHOUSE_URL, OPENAI_API_KEY, OPENAI_BASE_URL,",
    "QISTREAM_DATA_DIR, QISTREAM_HTTP_PORT, ... See docs/configuration.md.",
  ].join("\n");
}

/** `qistream help [command]`. */
export const helpCommand: Command = {
  name: "help",
  summary: "show this help, or a command's usage",
  usage: "Usage: qistream help [command]",
  run(args, context) {
    const name = args.find((a) => !a.startsWith("-"));
    if (name === undefined) {
      console.log(helpText(context.commands));
      return Promise.resolve(EXIT_OK);
    }
    const command = context.commands.find((c) => c.name === name);
    if (command === undefined) {
      console.error(`Unknown command "${name}".\n\n${helpText(context.commands)}`);
      return Promise.resolve(EXIT_USAGE);
    }
    console.log(command.usage);
    return Promise.resolve(EXIT_OK);
  },
};
