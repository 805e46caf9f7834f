/**
 * An in-memory stream connector that only subscribes: it delivers `recordsPerPartition` generated records per
 * partition, `batchRecords` per batch, as fast as `onBatch` settles, honouring pause/resume, and counts
 * commits. Benchmarks use it so they measure the dispatch → actor → ack path without a log's I/O.
 *
 * @module
 */
import type {
  ConsumedRecord,
  StreamConnector,
  SubscribeOptions,
  Subscription,
  TopicPartition,
} from "../../connector/types.ts";

/** Options of {@linkcode syntheticSource}. */
export interface SyntheticSourceOptions {
  partitions: number;
  /** Records per partition; `Infinity` never ends. */
  recordsPerPartition: number;
  batchRecords: number;
  /** Value size in bytes (default 200). */
  valueBytes?: number;
}

/** What a synthetic source reports. */
export interface SyntheticSource {
  connector: StreamConnector;
  /** Highest committed offset per partition (`-1` before the first commit). */
  committed: number[];
}

/** A connector whose `subscribe` generates records; every other method throws. */
export function syntheticSource(options: SyntheticSourceOptions): SyntheticSource {
  const value = new Uint8Array(options.valueBytes ?? 200).fill(120);
  const committed = Array.from({ length: options.partitions }, () => -1);
  const produced = Array.from({ length: options.partitions }, () => 0);
  const unsupported = () => {
    throw new Error("the synthetic source only subscribes");
  };
  const connector = {
    kind: "synthetic",
    connect: () => Promise.resolve(),
    publish: unsupported,
    partitionCount: () => Promise.resolve(options.partitions),
    // The dispatcher's drain at stop asks where each partition ends and where the group stands.
    offsets: () =>
      Promise.resolve(committed.map((c, partition) => ({
        partition,
        low: "0",
        high: String(
          Number.isFinite(options.recordsPerPartition) ? options.recordsPerPartition : produced[partition],
        ),
        ...(c >= 0 ? { committed: String(c) } : {}),
      }))),
    admin: {} as StreamConnector["admin"],
    onStatus: () => () => {},
    close: () => Promise.resolve(),
    subscribe(sub: SubscribeOptions): Promise<Subscription> {
      const topic = sub.topics[0]!;
      const all: TopicPartition[] = Array.from({ length: options.partitions }, (_, partition) => ({
        topic,
        partition,
      }));
      const paused = new Set<number>();
      const wake = new Map<number, () => void>();
      let closed = false;
      const loop = async (partition: number) => {
        let offset = 0;
        while (!closed && offset < options.recordsPerPartition) {
          if (paused.has(partition)) {
            await new Promise<void>((r) => wake.set(partition, r));
            continue;
          }
          const n = Math.min(options.batchRecords, options.recordsPerPartition - offset);
          const records: ConsumedRecord[] = [];
          for (let i = 0; i < n; i++, offset++) {
            records.push({
              topic,
              partition,
              offset: String(offset),
              key: null,
              value,
              headers: {},
              timestamp: 0,
            });
          }
          produced[partition] = offset;
          await sub.onBatch({ topic, partition, records, highWatermark: String(offset) });
        }
      };
      const since = Date.now();
      const subscription: Subscription = {
        group: sub.group,
        ended: new Promise(() => {}),
        health: () => ({ state: closed ? "closed" : "consuming", since }),
        assignments: () => all,
        commit(_topic, partition, offset) {
          committed[partition] = Math.max(committed[partition]!, Number(offset));
          return Promise.resolve();
        },
        pause(tps) {
          for (const tp of tps) paused.add(tp.partition);
        },
        resume(tps) {
          for (const tp of tps) {
            paused.delete(tp.partition);
            wake.get(tp.partition)?.();
            wake.delete(tp.partition);
          }
        },
        close() {
          closed = true;
          for (const w of wake.values()) w();
          return Promise.resolve();
        },
      };
      void Promise.resolve(sub.onAssigned?.(all)).then(() => {
        for (const tp of all) void loop(tp.partition);
      });
      return Promise.resolve(subscription);
    },
  } satisfies Omit<StreamConnector, "publish" | "timestampAt"> & Record<string, unknown>;
  return { connector: connector as unknown as StreamConnector, committed };
}
