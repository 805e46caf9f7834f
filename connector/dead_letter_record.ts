/**
 * Reading a dead letter back: what its `dlq.*` headers say (where it came from, who gave up on it and why), and
 * the record that replays it to its source topic.
 *
 * @module
 */
import { DLQ_HEADERS } from "./dead_letter.ts";
import { DLQ_ORIGINAL_HEADERS, originalLocation } from "./original_location.ts";
import type { ConsumedRecord, OutgoingRecord } from "./types.ts";

/** Header a replayed record carries: the dead letter it came from, `<dlq topic>[<partition>]@<offset>`. */
export const DLQ_REPLAYED_FROM_HEADER = "dlq.replayed-from";

/** A dead letter as a person reads it. */
export interface DeadLetterSummary {
  /** The dead letter itself: `<dlq topic>[<partition>]@<offset>`. */
  location: string;
  partition: number;
  offset: string;
  timestamp: number;
  agent: string;
  stage: string;
  errorClass: string;
  errorMessage: string;
  source: { topic: string; partition: number; offset: string } | undefined;
  /** Bytes of the value (as stored in the dead letter). */
  valueBytes: number;
  /** What was cut, when the dead letter is truncated (its original is still at `source`). */
  truncated: string | undefined;
}

/**
 * Reads the `dlq.*` headers of a record of a dead-letter topic.
 *
 * @param record a record of the dead-letter topic
 * @returns its summary (`?` where a header is missing)
 *
 * @example
 * ```ts
 * const s = summarizeDeadLetter(record);
 * console.log(`${s.agent} ${s.stage} ${s.errorClass}`);
 * ```
 */
export function summarizeDeadLetter(record: ConsumedRecord): DeadLetterSummary {
  const h = record.headers;
  const sourceTopic = h[DLQ_HEADERS.sourceTopic];
  const sourcePartition = Number(h[DLQ_HEADERS.sourcePartition]);
  const sourceOffset = h[DLQ_HEADERS.sourceOffset];
  return {
    location: `${record.topic}[${record.partition}]@${record.offset}`,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    agent: h[DLQ_HEADERS.agent] ?? "?",
    stage: h[DLQ_HEADERS.stage] ?? "?",
    errorClass: h[DLQ_HEADERS.errorClass] ?? "?",
    errorMessage: h[DLQ_HEADERS.errorMessage] ?? "",
    source: sourceTopic && Number.isInteger(sourcePartition) && sourceOffset
      ? { topic: sourceTopic, partition: sourcePartition, offset: sourceOffset }
      : undefined,
    valueBytes: record.value?.length ?? 0,
    truncated: h[DLQ_HEADERS.truncated],
  };
}

/** A dead letter that cannot be replayed: truncated, or without its source headers. */
export class NotReplayableError extends Error {
  override readonly name = "NotReplayableError";
  /** The dead letter, `<dlq topic>[<partition>]@<offset>`. */
  readonly location: string;
  /** Always false: the same dead letter is refused again. */
  readonly retriable = false;

  /**
   * @param location the dead letter
   * @param reason why it cannot be replayed
   */
  constructor(location: string, reason: string) {
    super(`Cannot replay the dead letter ${location}: ${reason}`);
    this.location = location;
  }
}

/**
 * The record that replays a dead letter: its original key, value and headers (the `dlq.*` ones removed) plus
 * {@linkcode DLQ_REPLAYED_FROM_HEADER} and {@linkcode DLQ_ORIGINAL_HEADERS} (where it was first published). Partitioned by its key like any record (a record without key goes back
 * to its source partition).
 *
 * @param record a record of the dead-letter topic
 * @returns the source topic and the record to publish there
 * @throws {NotReplayableError} if the dead letter is truncated (naming where its original is) or lacks its
 *   `dlq.source.*` headers
 *
 * @example
 * ```ts
 * const { topic, record: out } = replayRecordOf(letter);
 * await connector.publish(topic, [out]);
 * ```
 */
export function replayRecordOf(record: ConsumedRecord): { topic: string; record: OutgoingRecord } {
  const summary = summarizeDeadLetter(record);
  if (summary.truncated !== undefined) {
    const original = summary.source
      ? `${summary.source.topic}[${summary.source.partition}]@${summary.source.offset}`
      : "its source";
    throw new NotReplayableError(
      summary.location,
      `it is truncated (${summary.truncated}); the original is at ${original}, re-publish it from there`,
    );
  }
  if (!summary.source) {
    throw new NotReplayableError(
      summary.location,
      "it has no dlq.source.* headers saying where it came from",
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!name.startsWith("dlq.")) headers[name] = value;
  }
  headers[DLQ_REPLAYED_FROM_HEADER] = summary.location;
  const first = originalLocation({ ...summary.source, headers: record.headers });
  headers[DLQ_ORIGINAL_HEADERS.topic] = first.topic;
  headers[DLQ_ORIGINAL_HEADERS.partition] = String(first.partition);
  headers[DLQ_ORIGINAL_HEADERS.offset] = first.offset;
  return {
    topic: summary.source.topic,
    record: {
      key: record.key,
      value: record.value,
      headers,
      ...(record.key === null ? { partition: summary.source.partition } : {}),
    },
  };
}
