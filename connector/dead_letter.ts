/**
 * The dead-letter helper: a record that cannot be processed is written, byte for byte, to a dead-letter topic
 * with headers that say where it came from and why it failed, so its partition moves on and nothing disappears.
 *
 * @module
 */
import { counter } from "../core/metrics.ts";
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
} as const;

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
 * @param connector the connector to publish through
 * @param deadLetterTopic e.g. `market.dead-letter`
 * @param letter the record, what failed and how often
 * @returns where the dead letter landed
 * @throws {TypeError} if the topic or stage is empty or attempts is not a non-negative integer
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
  const [published] = await connector.publish(deadLetterTopic, [
    { key: record.key, value: record.value, headers },
  ]);
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
