/**
 * A throwaway read of a whole topic: every record from the earliest offset to the high watermark of the moment
 * the read starts, through any connector. It joins a consumer group of its own (a fresh random name) and never
 * commits, so no group that matters moves and nothing is left behind: the embedded log keeps groups in memory
 * only, and Kafka drops an empty group that has no committed offsets.
 *
 * @module
 */
import type { ConsumedRecord, StreamConnector } from "./types.ts";

/** Options of {@linkcode readTopicToEnd}. */
export interface ReadTopicOptions {
  /** Gives up after this long (default 60 s). */
  timeoutMs?: number;
  /** Stops the read early. */
  signal?: AbortSignal;
}

/**
 * Reads every record of `topic` up to the high watermark it has when the read starts, in offset order per
 * partition (partitions after one another).
 *
 * @param connector a connected connector
 * @param topic the topic to read
 * @param options timeout and abort
 * @returns the records, sorted by partition then offset
 * @throws {UnknownTopicError} if the topic does not exist
 * @throws {Error} if the end is not reached within the timeout
 *
 * @example
 * ```ts
 * const letters = await readTopicToEnd(connector, "market.dead-letter");
 * ```
 */
export async function readTopicToEnd(
  connector: StreamConnector,
  topic: string,
  options: ReadTopicOptions = {},
): Promise<ConsumedRecord[]> {
  const ends = new Map<number, bigint>();
  for (const o of await connector.offsets(topic)) {
    if (BigInt(o.high) > BigInt(o.low)) ends.set(o.partition, BigInt(o.high) - 1n);
  }
  if (ends.size === 0) return [];
  const reached = new Map<number, bigint>();
  const seen: ConsumedRecord[] = [];
  const done = Promise.withResolvers<void>();
  const isDone = () => [...ends].every(([p, last]) => (reached.get(p) ?? -1n) >= last);
  const subscription = await connector.subscribe({
    group: `qistream.read-${crypto.randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch(batch) {
      const last = ends.get(batch.partition);
      if (last === undefined) return;
      for (const r of batch.records) if (BigInt(r.offset) <= last) seen.push(r);
      const covered = batch.lastOffset ?? batch.records.at(-1)?.offset;
      if (covered !== undefined) {
        reached.set(batch.partition, BigInt(covered));
      }
      if (isDone()) done.resolve();
    },
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timer = setTimeout(
    () => done.reject(new Error(`Reading ${topic} did not reach its end within ${timeoutMs} ms`)),
    timeoutMs,
  );
  const onAbort = () => done.reject(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await done.promise;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    await subscription.close();
  }
  return seen.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
