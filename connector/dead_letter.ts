/**
 * The dead-letter helper: a record that cannot be processed is written, byte for byte, to a dead-letter topic
 * with headers that say where it came from and why it failed, so its partition moves on and nothing disappears.
 * A dead letter the log refuses as too large (the original was near the limit, plus the headers) is written
 * truncated instead, with headers that say so and point at the original, still in its topic at its offset.
 *
 * @module
 */
import { counter } from "../core/metrics.ts";
import { RecordTooLargeError } from "./errors.ts";
import type { ConsumedRecord, PublishedRecord, RecordHeaders, StreamConnector } from "./types.ts";

/** Name of the counter of dead letters written, in the process metrics registry. */
export const DEAD_LETTERS_METRIC = "qistream_dead_letters_total";

function deadLetters() {
  return counter({
    name: DEAD_LETTERS_METRIC,
    help: "Records written to a dead-letter topic, by source topic, stage, error class and agent.",
    labelNames: ["topic", "source_topic", "stage", "error_class", "agent"],
  });
}

/** Names of the headers `sendToDeadLetter` sets. */
export const DLQ_HEADERS = {
  sourceTopic: "dlq.source.topic",
  sourcePartition: "dlq.source.partition",
  sourceOffset: "dlq.source.offset",
  sourceTimestamp: "dlq.source.timestamp",
  stage: "dlq.stage",
  errorClass: "dlq.error.class",
  errorMessage: "dlq.error.message",
  agent: "dlq.agent",
  attempts: "dlq.attempts",
  /** Set (to what was cut) only on a truncated dead letter. */
  truncated: "dlq.truncated",
  originalKeyBytes: "dlq.original.key.bytes",
  originalValueBytes: "dlq.original.value.bytes",
  originalHeadersBytes: "dlq.original.headers.bytes",
} as const;

/** Most bytes of the original value a truncated dead letter keeps (its first bytes). */
export const TRUNCATED_VALUE_BYTES = 1024;
/** Longest key a truncated dead letter keeps; a longer key is dropped. */
export const TRUNCATED_KEY_BYTES = 256;
/** Longest `dlq.error.message` of a truncated dead letter, in characters. */
const TRUNCATED_ERROR_MESSAGE_LENGTH = 512;

/** Longest `dlq.error.message` kept, in characters (longer messages are cut and marked). */
export const MAX_ERROR_MESSAGE_LENGTH = 4096;

/** What failed, where, and how often. */
export interface DeadLetter {
  /** The record as it was consumed; its key and value bytes are written untouched. */
  record: ConsumedRecord;
  /** Processing stage that failed, e.g. `decode`, `handler`, `sink.insert`. */
  stage: string;
  /** The error; its class (`name`) and message go into headers. Non-errors are stringified. */
  error: unknown;
  /** Agent (actor) that gave up on the record. */
  agent: string;
  /** How many times processing was tried. */
  attempts: number;
}

/**
 * Publishes a failed record to the dead-letter topic: the original key and value bytes, untouched; the
 * original headers; and `dlq.*` headers (source topic, partition, offset and timestamp, stage, error class and
 * message, agent, attempts), which win over original headers of the same name. Resolves once the log
 * acknowledged the dead letter, so the caller may then commit the source offset. Counts it in
 * `qistream_dead_letters_total{topic, source_topic, stage, error_class, agent}`.
 *
 * If the log refuses the dead letter as too large, it is sent once more truncated: the first
 * {@linkcode TRUNCATED_VALUE_BYTES} of the value, the key if it is short, none of the original headers but the
 * correlation id, a shorter error message, and `dlq.truncated` (what was cut) with the original sizes
 * (`dlq.original.key.bytes`, `dlq.original.value.bytes`, `dlq.original.headers.bytes`). The `dlq.source.*`
 * headers point at the original record.
 *
 * @param connector the connector to publish through
 * @param deadLetterTopic e.g. `market.dead-letter`
 * @param letter the record, what failed and how often
 * @returns where the dead letter landed
 * @throws {TypeError} if the topic or stage is empty or attempts is not a non-negative integer
 * @throws {ConnectorError} if the log refuses the dead letter (the truncated one, if it was too large)
 *
 * @example
 * ```ts
 * await sendToDeadLetter(connector, "market.dead-letter", {
 *   record, stage: "decode", error: err, agent: "postgres-sink", attempts: 1,
 * });
 * await subscription.commit(record.topic, record.partition, record.offset);
 * ```
 */
export async function sendToDeadLetter(
  connector: StreamConnector,
  deadLetterTopic: string,
  letter: DeadLetter,
): Promise<PublishedRecord> {
  if (deadLetterTopic === "") throw new TypeError("Cannot send to the dead-letter topic: its name is empty");
  if (letter.stage === "") throw new TypeError("Cannot send to the dead-letter topic: stage is empty");
  if (!Number.isInteger(letter.attempts) || letter.attempts < 0) {
    throw new TypeError(
      `Cannot send to the dead-letter topic: attempts is ${letter.attempts}, expected an integer >= 0`,
    );
  }
  const { record } = letter;
  const headers: RecordHeaders = {
    ...record.headers,
    [DLQ_HEADERS.sourceTopic]: record.topic,
    [DLQ_HEADERS.sourcePartition]: String(record.partition),
    [DLQ_HEADERS.sourceOffset]: record.offset,
    [DLQ_HEADERS.sourceTimestamp]: String(record.timestamp),
    [DLQ_HEADERS.stage]: letter.stage,
    [DLQ_HEADERS.errorClass]: errorClass(letter.error),
    [DLQ_HEADERS.errorMessage]: errorMessage(letter.error),
    [DLQ_HEADERS.agent]: letter.agent,
    [DLQ_HEADERS.attempts]: String(letter.attempts),
  };
  let published: PublishedRecord | undefined;
  try {
    [published] = await connector.publish(deadLetterTopic, [{
      key: record.key,
      value: record.value,
      headers,
    }]);
  } catch (error) {
    if (!(error instanceof RecordTooLargeError)) throw error;
    [published] = await connector.publish(deadLetterTopic, [truncatedLetter(record, headers)]);
  }
  if (!published) {
    throw new Error(`The connector acknowledged nothing for the dead letter on ${deadLetterTopic}`);
  }
  deadLetters().inc({
    topic: deadLetterTopic,
    source_topic: record.topic,
    stage: letter.stage,
    error_class: headers[DLQ_HEADERS.errorClass]!,
    agent: letter.agent,
  });
  return published;
}

/** The dead letter cut down to what always fits: see {@linkcode sendToDeadLetter}. */
function truncatedLetter(record: ConsumedRecord, headers: RecordHeaders) {
  const encoder = new TextEncoder();
  const originalHeaders = Object.entries(record.headers);
  const headersBytes = originalHeaders.reduce(
    (n, [k, v]) => n + encoder.encode(k).length + encoder.encode(v).length,
    0,
  );
  const keyBytes = record.key?.length ?? 0;
  const valueBytes = record.value?.length ?? 0;
  const keepKey = keyBytes <= TRUNCATED_KEY_BYTES;
  const cut = [
    valueBytes > TRUNCATED_VALUE_BYTES ? `value (kept ${TRUNCATED_VALUE_BYTES} of ${valueBytes} bytes)` : "",
    keepKey ? "" : `key (${keyBytes} bytes)`,
    originalHeaders.length > 0 ? `original headers (${originalHeaders.length})` : "",
  ].filter(Boolean).join(", ");
  const message = headers[DLQ_HEADERS.errorMessage]!;
  const kept: RecordHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("dlq.") || name === "correlation-id") kept[name] = value;
  }
  Object.assign(kept, {
    [DLQ_HEADERS.errorMessage]: message.length > TRUNCATED_ERROR_MESSAGE_LENGTH
      ? `${message.slice(0, TRUNCATED_ERROR_MESSAGE_LENGTH)}... (cut)`
      : message,
    [DLQ_HEADERS.truncated]: `${
      cut || "headers"
    }: the full record is ${record.topic}[${record.partition}]@${record.offset}`,
    [DLQ_HEADERS.originalKeyBytes]: String(keyBytes),
    [DLQ_HEADERS.originalValueBytes]: String(valueBytes),
    [DLQ_HEADERS.originalHeadersBytes]: String(headersBytes),
  });
  return {
    key: keepKey ? record.key : null,
    value: record.value === null ? null : record.value.subarray(0, TRUNCATED_VALUE_BYTES),
    headers: kept,
  };
}

function errorClass(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor?.name || "Error";
  return typeof error;
}

function errorMessage(error: unknown): string {
  let text: string;
  if (error instanceof Error) text = error.message;
  else if (typeof error === "string") text = error;
  else {
    try {
      text = JSON.stringify(error) ?? String(error);
    } catch {
      text = String(error);
    }
  }
  return text.length > MAX_ERROR_MESSAGE_LENGTH
    ? `${text.slice(0, MAX_ERROR_MESSAGE_LENGTH)}... (${
      text.length - MAX_ERROR_MESSAGE_LENGTH
    } more characters)`
    : text;
}
