/**
 * Dealing with dead letters, shared by `deno task dlq`, the `deadletters.*` tools and the dashboard: read the
 * dead-letter topic, select by agent, stage and error, show one decoded, replay chosen ones to their source
 * topic (a record several agents dead-lettered — one dead letter per consumer group — goes back once).
 *
 * @module
 */
import type { AvroSerde } from "./avro/mod.ts";
import {
  type DeadLetterSummary,
  NotReplayableError,
  replayRecordOf,
  summarizeDeadLetter,
} from "./dead_letter_record.ts";
import { describeBytes } from "./describe_bytes.ts";
import { originalLocation } from "./original_location.ts";
import { readTopicToEnd } from "./read_topic_to_end.ts";
import type { ConsumedRecord, StreamConnector } from "./types.ts";

/** Which dead letters: every given field must match (`error` is a case-insensitive substring of class: message). */
export interface DeadLetterFilter {
  agent?: string;
  stage?: string;
  error?: string;
}

/** Where a dead letter is in its topic. */
export interface DeadLetterRef {
  partition: number;
  offset: string;
}

/**
 * Whether a dead letter matches a filter.
 *
 * @example
 * ```ts
 * matchesDeadLetter(summarizeDeadLetter(record), { agent: "postgres-sink", error: "check constraint" });
 * ```
 */
export function matchesDeadLetter(s: DeadLetterSummary, f: DeadLetterFilter): boolean {
  if (f.agent !== undefined && s.agent !== f.agent) return false;
  if (f.stage !== undefined && s.stage !== f.stage) return false;
  if (f.error !== undefined) {
    const needle = f.error.toLowerCase();
    if (!`${s.errorClass}: ${s.errorMessage}`.toLowerCase().includes(needle)) return false;
  }
  return true;
}

/**
 * Parses `OFFSET` (partition 0) or `PARTITION@OFFSET`.
 *
 * @returns the reference, or undefined when it is neither
 */
export function parseDeadLetterRef(ref: string): DeadLetterRef | undefined {
  const m = /^(?:(\d+)@)?(\d+)$/.exec(ref.trim());
  if (!m) return undefined;
  return { partition: Number(m[1] ?? 0), offset: BigInt(m[2]!).toString() };
}

/** Reads every dead letter of `topic` up to its current end (a throwaway read: no group that matters moves). */
export function readDeadLetters(
  connector: StreamConnector,
  topic: string,
  options: { signal?: AbortSignal } = {},
): Promise<ConsumedRecord[]> {
  return readTopicToEnd(connector, topic, options);
}

/** A dead letter shown in full: its summary, headers, and key and value described (Avro decoded). */
export interface DeadLetterDetail extends DeadLetterSummary {
  headers: Record<string, string>;
  key: string;
  value: string;
}

/** Describes one dead letter, its value decoded through the registry where it is Avro. */
export async function showDeadLetter(record: ConsumedRecord, serde?: AvroSerde): Promise<DeadLetterDetail> {
  return {
    ...summarizeDeadLetter(record),
    headers: { ...record.headers },
    key: await describeBytes(record.key),
    value: await describeBytes(record.value, serde),
  };
}

/** What a replay did with one dead letter. */
export type ReplayOutcome =
  | { location: string; status: "replayed"; to: string }
  | { location: string; status: "skipped"; reason: string }
  | { location: string; status: "refused"; reason: string };

/**
 * Publishes each dead letter's original back to its source topic (with `dlq.replayed-from`), in order. A
 * truncated one, or one without its source headers, is refused; a second dead letter of the same original is
 * skipped (every group of the topic sees the one replayed copy). `onProgress` hears after each one.
 *
 * @returns one outcome per dead letter, in input order
 */
export async function replayDeadLetters(
  connector: StreamConnector,
  records: readonly ConsumedRecord[],
  onProgress?: (done: number, total: number) => void,
): Promise<ReplayOutcome[]> {
  const outcomes: ReplayOutcome[] = [];
  const push = (outcome: ReplayOutcome) => {
    outcomes.push(outcome);
    onProgress?.(outcomes.length, records.length);
  };
  const replayedOriginals = new Map<string, string>();
  for (const r of records) {
    const location = summarizeDeadLetter(r).location;
    let replay;
    try {
      replay = replayRecordOf(r);
    } catch (e) {
      if (!(e instanceof NotReplayableError)) throw e;
      push({ location, status: "refused", reason: e.message });
      continue;
    }
    const first = originalLocation({ ...r, headers: replay.record.headers! });
    const original = `${first.topic}[${first.partition}]@${first.offset}`;
    const earlier = replayedOriginals.get(original);
    if (earlier !== undefined) {
      push({ location, status: "skipped", reason: `${original} was replayed from ${earlier}` });
      continue;
    }
    replayedOriginals.set(original, location);
    const [landed] = await connector.publish(replay.topic, [replay.record]);
    push({
      location,
      status: "replayed",
      to: `${landed!.topic}[${landed!.partition}]@${landed!.offset}`,
    });
  }
  return outcomes;
}
