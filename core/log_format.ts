/**
 * How log lines look: JSON Lines for machines (the default whenever the output is not a terminal), or one
 * human-readable line per record in a terminal (LogTape's pretty formatter). `QISTREAM_LOG_FORMAT=json|pretty|auto`
 * forces a format; `NO_COLOR` turns colours off (docs/observability.md).
 *
 * @module
 */
import { getJsonLinesFormatter, type LogRecord } from "@logtape/logtape";
import { getPrettyFormatter } from "@logtape/pretty";

/** A format as asked for: `auto` picks `pretty` in a terminal and `json` otherwise. */
export type LogFormatChoice = "auto" | "json" | "pretty";

/** The format in effect. */
export type LogFormat = "json" | "pretty";

/** The values {@linkcode chooseLogFormat} accepts. */
export const LOG_FORMATS: readonly LogFormatChoice[] = ["auto", "json", "pretty"];

/**
 * Picks the log format.
 *
 * @param wanted `auto`, `json` or `pretty` (any case); `undefined` counts as `auto`
 * @param isTerminal whether the log output is a terminal
 * @returns `pretty` when asked, or for `auto` in a terminal; `json` otherwise
 * @throws {RangeError} when `wanted` is not one of the formats
 *
 * @example
 * ```ts
 * chooseLogFormat(Deno.env.get("QISTREAM_LOG_FORMAT"), Deno.stderr.isTerminal());
 * ```
 */
export function chooseLogFormat(wanted: string | undefined, isTerminal: boolean): LogFormat {
  const choice = (wanted ?? "auto").trim().toLowerCase() || "auto";
  if (!(LOG_FORMATS as readonly string[]).includes(choice)) {
    throw new RangeError(
      `Cannot set up logging: QISTREAM_LOG_FORMAT is "${wanted}", expected one of ${LOG_FORMATS.join(", ")}`,
    );
  }
  if (choice === "auto") return isTerminal ? "pretty" : "json";
  return choice as LogFormat;
}

/**
 * The formatter of a format: JSON Lines with the properties flattened, or one pretty line (time, level,
 * category, message with its values; colours unless `colors` is false).
 *
 * @param format the format in effect
 * @param colors whether the pretty line may use ANSI colours
 * @returns a function from a record to its line (ending in `\n`)
 */
export function logFormatter(format: LogFormat, colors = true): (record: LogRecord) => string {
  if (format === "json") return getJsonLinesFormatter({ properties: "flatten" });
  return getPrettyFormatter({
    timestamp: "date-time",
    icons: false,
    colors,
    wordWrap: false,
    categoryWidth: 28,
    categoryTruncate: "middle",
  });
}
