/**
 * Process logging through LogTape: JSON Lines (or, in a terminal, one readable line per record; see
 * `log_format.ts`), with secret redaction and correlation ids carried by LogTape's implicit contexts. Call
 * {@link setupLogging} once at start; get loggers with {@link getLogger}.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  configureSync,
  getLogger as getLogTapeLogger,
  isLogLevel,
  type Logger,
  type LogLevel,
  type LogRecord,
  type Sink,
  withContext,
} from "@logtape/logtape";
import { REDACTED, redactText, redactValue } from "./log_redact.ts";
import { chooseLogFormat, type LogFormat, logFormatter } from "./log_format.ts";

/** The root category: every qistream logger lives under it. */
export const ROOT_CATEGORY = "qistream";

/** The implicit-context key that carries a record's correlation id. */
export const CORRELATION_ID = "correlationId";

/** Options of {@link setupLogging}. */
export interface LoggingOptions {
  /** Lowest level written; default `QISTREAM_LOG_LEVEL`, else `info`. `warn` is accepted for `warning`. */
  level?: string;
  /** Where lines go: a function receiving each line (with its `\n`), or `"stderr"` (default) / `"stdout"`. */
  output?: "stderr" | "stdout" | ((line: string) => void);
  /** `auto` (default `QISTREAM_LOG_FORMAT`, else `auto`): pretty lines in a terminal, JSON Lines otherwise. */
  format?: string;
  /** Whether the output is a terminal; default: asks the output (a function output is not one). For tests. */
  isTerminal?: boolean;
}

const storage = new AsyncLocalStorage<Record<string, unknown>>();

/**
 * Configures LogTape once for the process (calling it again replaces the configuration). In JSON (the default
 * when the output is not a terminal): one JSON object per line with `@timestamp`, `level`, `message`, `logger`
 * and the record's properties flattened (including `correlationId` when set). In a terminal: one readable line
 * per record (time, level, category, message). Secrets are redacted in both.
 *
 * @param options level, output and format
 * @returns the level and the format in effect
 * @throws {RangeError} when the level is not a LogTape level or the format is not `auto`, `json` or `pretty`
 *
 * @example
 * ```ts
 * setupLogging({ level: "debug" });
 * getLogger("config").info("loaded {file}", { file: "pipeline.yaml" });
 * // {"@timestamp":"...","level":"INFO","message":"loaded \"pipeline.yaml\"","logger":"qistream.config","file":"pipeline.yaml"}
 * ```
 */
export function setupLogging(options: LoggingOptions = {}): { level: LogLevel; format: LogFormat } {
  const wanted = (options.level ?? Deno.env.get("QISTREAM_LOG_LEVEL") ?? "info").toLowerCase();
  const level = wanted === "warn" ? "warning" : wanted;
  if (!isLogLevel(level)) {
    throw new RangeError(
      `Cannot set up logging: level is "${wanted}", expected one of trace, debug, info, warning, error, fatal`,
    );
  }
  const output = options.output ?? "stderr";
  const write = typeof output === "function" ? output : writerFor(output);
  const isTerminal = options.isTerminal ??
    (typeof output !== "function" && (output === "stdout" ? Deno.stdout : Deno.stderr).isTerminal());
  const format = chooseLogFormat(options.format ?? Deno.env.get("QISTREAM_LOG_FORMAT"), isTerminal);
  const colors = isTerminal && !Deno.env.get("NO_COLOR");
  configureSync({
    reset: true,
    contextLocalStorage: storage,
    sinks: { jsonl: redactingSink(write, logFormatter(format, colors)) },
    loggers: [
      { category: ROOT_CATEGORY, sinks: ["jsonl"], lowestLevel: level },
      { category: ["logtape", "meta"], sinks: ["jsonl"], lowestLevel: "warning" },
    ],
  });
  return { level, format };
}

/**
 * A logger under the `qistream` category, e.g. `getLogger("connector.kafka")` -> `qistream.connector.kafka`.
 *
 * @param category dotted string or array of category parts
 * @returns the LogTape logger
 */
export function getLogger(category: string | readonly string[] = []): Logger {
  const parts = typeof category === "string" ? category.split(".").filter((p) => p !== "") : category;
  return getLogTapeLogger([ROOT_CATEGORY, ...parts]);
}

/**
 * Runs `fn` with `correlationId` attached to every log record written inside it, across `await`s.
 *
 * @param correlationId the id carried from source to sink (the record's `correlation-id` header)
 * @param fn the work to run
 * @returns what `fn` returns
 *
 * @example
 * ```ts
 * await withCorrelationId(headers["correlation-id"], () => handleBatch(batch));
 * ```
 */
export function withCorrelationId<T>(correlationId: string, fn: () => T): T {
  return withContext({ [CORRELATION_ID]: correlationId }, fn);
}

/**
 * The correlation id of the current async context, if any (to forward it in headers or tool calls).
 *
 * @returns the id set by the innermost {@link withCorrelationId}, or undefined
 */
export function currentCorrelationId(): string | undefined {
  const id = storage.getStore()?.[CORRELATION_ID];
  return typeof id === "string" ? id : undefined;
}

/**
 * A LogTape sink writing redacted JSON Lines to `write`. Exposed for Workers and tests that configure
 * LogTape themselves.
 *
 * @param write receives each formatted line
 * @returns the sink
 */
export function redactingJsonLinesSink(write: (line: string) => void): Sink {
  return redactingSink(write, logFormatter("json"));
}

/**
 * A LogTape sink writing each record, redacted, as `format` renders it.
 *
 * @param write receives each formatted line
 * @param format renders a record as a line
 * @returns the sink
 */
export function redactingSink(write: (line: string) => void, format: (record: LogRecord) => string): Sink {
  return (record: LogRecord) => {
    const secrets = new Set<string>();
    const properties = redactValue(record.properties, secrets) as Record<string, unknown>;
    const message = record.message.map((part, i) => (i % 2 === 1 ? redactValue(part, secrets) : part));
    let line = format({ ...record, properties, message });
    for (const secret of secrets) {
      line = line.replaceAll(secret, REDACTED).replaceAll(JSON.stringify(secret).slice(1, -1), REDACTED);
    }
    write(redactText(line));
  };
}

function writerFor(target: "stderr" | "stdout"): (line: string) => void {
  const encoder = new TextEncoder();
  const file = target === "stdout" ? Deno.stdout : Deno.stderr;
  return (line) => {
    const bytes = encoder.encode(line);
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
  };
}
