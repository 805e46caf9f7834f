/**
 * The embedded {@link StreamConnector}: a single-process partitioned log in a data directory, with Kafka's
 * semantics — murmur2 key partitioning, per-partition offsets from 0, consumer groups inside the process with
 * range assignment and rebalances, durable group commits, retention by time and size. Used when no Kafka
 * brokers are configured. One process at a time: a lock file refuses a second one.
 *
 * @module
 */

import type { Registry } from "prom-client";
import { type ConnectorMetrics, connectorMetrics, payloadBytes } from "../connector_metrics.ts";
import {
  ConnectorClosedError,
  ConnectorError,
  PublishError,
  RecordTooLargeError,
  UnknownTopicError,
} from "../errors.ts";
import { partitionForKey } from "../murmur2.ts";
import type {
  ConnectorStatus,
  OutgoingRecord,
  PartitionBatch,
  PartitionOffsets,
  PublishedRecord,
  StreamConnector,
  SubscribeOptions,
  Subscription,
  TopicAdmin,
} from "../types.ts";
import type { GroupSettings, MemberSink } from "./consumer_group.ts";
import type { EmbeddedLogStore, LogDefaults } from "./embedded_log_store.ts";
import { SharedLog } from "./shared_log.ts";
import { EmbeddedTopicAdmin } from "./embedded_topic_admin.ts";
import type { LogFs } from "./log_fs.ts";
import { isRetriable } from "../../core/retriable.ts";

/** Options of {@link EmbeddedConnector}; every field but `dataDir` has a default. */
export interface EmbeddedConnectorOptions {
  /** Directory holding segments, offsets and topic metadata (created if missing). */
  dataDir: string;
  /** Retention for topics that set no `retention.ms` / `retention.bytes`: default 7 days, no size limit. */
  retention?: { ms?: number; bytes?: number };
  /** How often retention runs, in ms (default 60 000). */
  retentionCheckIntervalMs?: number;
  /** Segment size before rolling, for topics without `segment.bytes` (default 64 MiB). */
  segmentBytes?: number;
  /** Largest record (key + value + headers) for topics without `max.message.bytes` (default 1 MiB). */
  maxMessageBytes?: number;
  /** fsync segment writes before `publish` resolves (default `true`); `false` only writes to the OS. */
  fsync?: boolean;
  /** Most records per delivered batch (default 500). */
  maxBatchRecords?: number;
  /** Soft byte limit per delivered batch (default 1 MiB). */
  maxBatchBytes?: number;
  /** First redelivery delay after a rejected batch, doubling per attempt (default 200 ms, at most 5 s). */
  retryBackoffMs?: number;
  /** Longest redelivery delay (default 5000 ms). */
  maxRetryBackoffMs?: number;
  /** How long a rebalance waits for a revoked partition's in-flight batch (default 30 000 ms). */
  rebalanceTimeoutMs?: number;
  /** Create unknown topics on publish/subscribe with `defaultPartitions` (default `false`: `UnknownTopicError`). */
  autoCreateTopics?: boolean;
  /** Partitions of auto-created topics (default 1, as Kafka's `num.partitions`). */
  defaultPartitions?: number;
  /** Prometheus registry to record the connector metrics into. */
  registry?: Registry;
  /**
   * How long a failing segment write (a full disk, an I/O error) is retried before the publish fails, retriable
   * (default 30 000 ms, as Kafka's producer retries until `delivery.timeout.ms`).
   */
  writeRetryMs?: number;
  /** The segment file operations (default: the real file system): a seam for fault injection in tests. */
  fs?: LogFs;
}

const KIND = "embedded";

/**
 * The embedded stream connector.
 *
 * @example
 * ```ts
 * const connector = new EmbeddedConnector({ dataDir: "data/log" });
 * await connector.connect();
 * await connector.admin.createTopics([{ name: "market.ticks", partitions: 6, replicationFactor: 1, config: {} }]);
 * await connector.publish("market.ticks", [{ key: "BTC-USD", value: bytes }]);
 * const sub = await connector.subscribe({
 *   group: "sink",
 *   topics: ["market.ticks"],
 *   fromBeginning: true,
 *   async onBatch(batch) {
 *     await store(batch.records);
 *     await sub.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset);
 *   },
 * });
 * await connector.close();
 * ```
 */
export class EmbeddedConnector implements StreamConnector {
  readonly kind = KIND;
  readonly admin: TopicAdmin;
  readonly #options: EmbeddedConnectorOptions;
  readonly #defaults: LogDefaults;
  readonly #settings: GroupSettings;
  readonly #listeners = new Set<(status: ConnectorStatus) => void>();
  readonly #sink: MemberSink;
  readonly #metrics: ConnectorMetrics | undefined;
  #shared: SharedLog | null = null;
  #connecting: Promise<void> | null = null;
  #closed = false;

  /**
   * @param options Data directory and tuning.
   * @throws {TypeError} If `dataDir` is empty.
   * @throws {RangeError} If a numeric option is out of range.
   */
  constructor(options: EmbeddedConnectorOptions) {
    if (!options.dataDir) throw new TypeError("Cannot create the embedded connector: dataDir is empty");
    for (
      const name of [
        "segmentBytes",
        "maxMessageBytes",
        "maxBatchRecords",
        "maxBatchBytes",
        "defaultPartitions",
        "retentionCheckIntervalMs",
      ] as const
    ) {
      const v = options[name];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
        throw new RangeError(`Cannot use ${name}: current value is ${v}, expected a positive integer`);
      }
    }
    this.#options = options;
    this.#defaults = {
      retentionMs: options.retention?.ms ?? 7 * 24 * 3600_000,
      retentionBytes: options.retention?.bytes ?? -1,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
      fsync: options.fsync ?? true,
      writeRetryMs: options.writeRetryMs,
      fs: options.fs,
      // A failed write attempt is reported on every connector of the process sharing this log (shared_log.ts).
      onWriteError: (where, error, final) =>
        this.#emit({
          type: "error",
          error: new PublishError(`${where.topic}[${where.partition}]`, 0, {
            cause: new Error(`${final ? "gave up after" : "retrying"} a failed write: ${error.message}`, {
              cause: error,
            }),
            retriable: !final,
          }),
        }),
    };
    this.#settings = {
      maxBatchRecords: options.maxBatchRecords ?? 500,
      maxBatchBytes: options.maxBatchBytes ?? 1024 * 1024,
      retryBackoffMs: options.retryBackoffMs ?? 200,
      maxRetryBackoffMs: options.maxRetryBackoffMs ?? 5000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
    };
    this.#metrics = options.registry ? connectorMetrics(options.registry) : undefined;
    this.#sink = {
      emit: (status) => this.#emit(status),
      delivered: (group, batch) => this.#delivered(group, batch),
      settings: this.#settings,
    };
    this.admin = new EmbeddedTopicAdmin(
      () => this.#open(),
      (topics) => this.#shared!.topologyChanged(topics),
    );
  }

  /**
   * Opens the data directory: takes the lock, loads metadata and offsets, recovers every partition.
   *
   * @throws {DataDirLockedError} If another process uses the directory.
   * @throws {ConnectorClosedError} After `close()`.
   */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnectorClosedError("embedded connector"));
    this.#connecting ??= (async () => {
      const shared = await SharedLog.acquire(
        this.#options.dataDir,
        this.#defaults,
        this.#options.retentionCheckIntervalMs ?? 60_000,
      );
      this.#shared = shared;
      shared.listeners.add(this.#forward);
      this.#emit({ type: "connected" });
    })().catch((e) => {
      this.#connecting = null;
      throw e;
    });
    return this.#connecting;
  }

  readonly #forward = (status: ConnectorStatus) => this.#emit(status);

  #open(): EmbeddedLogStore {
    if (this.#closed) throw new ConnectorClosedError("embedded connector");
    if (!this.#shared) throw new ConnectorError("Cannot use the embedded connector: call connect() first");
    return this.#shared.store;
  }

  /** Partition count of a topic, creating it first when `autoCreateTopics` allows (else `UnknownTopicError`). */
  async #autoCreate(topic: string): Promise<number> {
    if (!this.#options.autoCreateTopics) throw new UnknownTopicError(topic);
    await this.admin.createTopics([
      { name: topic, partitions: this.#options.defaultPartitions ?? 1, replicationFactor: 1, config: {} },
    ]);
    return this.#open().partitionCount(topic);
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<PublishedRecord[]> {
    const started = performance.now();
    // No await before the appends when the topic exists: a publish() called before close() is always flushed.
    const store = this.#open();
    const partitions = store.partitionCount(topic) || await this.#autoCreate(topic);
    const { maxMessageBytes } = store.limits(topic);
    const encoder = new TextEncoder();
    const byPartition = new Map<number, number[]>();
    const prepared = records.map((r, i) => {
      const key = typeof r.key === "string" ? encoder.encode(r.key) : r.key;
      if (key !== null && !(key instanceof Uint8Array)) {
        throw new TypeError(`Cannot publish record ${i}: key must be a string, Uint8Array or null`);
      }
      if (r.value !== null && !(r.value instanceof Uint8Array)) {
        throw new TypeError(`Cannot publish record ${i}: value must be a Uint8Array or null`);
      }
      let partition: number;
      if (r.partition !== undefined) {
        if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= partitions) {
          throw new RangeError(
            `Cannot publish to ${topic}[${r.partition}]: the topic has partitions 0 to ${partitions - 1}`,
          );
        }
        partition = r.partition;
      } else if (key !== null) {
        partition = partitionForKey(key, partitions);
      } else {
        const roundRobin = this.#shared!.roundRobin;
        const next = roundRobin.get(topic) ?? 0;
        roundRobin.set(topic, next + 1);
        partition = next % partitions;
      }
      const headers = r.headers ?? {};
      let size = (key?.length ?? 0) + (r.value?.length ?? 0);
      for (const [k, v] of Object.entries(headers)) size += k.length + v.length;
      if (size > maxMessageBytes) throw new RecordTooLargeError(topic, size, maxMessageBytes);
      const list = byPartition.get(partition) ?? [];
      list.push(i);
      byPartition.set(partition, list);
      return {
        partition,
        key,
        value: r.value,
        headers: { ...headers },
        timestamp: r.timestamp ?? Date.now(),
      };
    });
    const parts = [...byPartition].map(([partition, indexes]) => ({
      partition,
      indexes,
      log: store.partitionLog(topic, partition)!,
    }));
    const failure = parts.find((p) => p.log.failure)?.log.failure;
    if (failure) throw new PublishError(topic, records.length, { cause: failure, retriable: false });
    // Each partition retries its own failing writes (partition_log.ts), so a short fault costs no duplicate.
    const settled = await Promise.allSettled(parts.map((p) => {
      try {
        return p.log.append(p.indexes.map((i) => prepared[i]!));
      } catch (e) {
        return Promise.reject(e); // closed meanwhile
      }
    }));
    const results: PublishedRecord[] = new Array(records.length);
    const written: number[] = [];
    let cause: unknown;
    settled.forEach((s, k) => {
      const { partition, indexes } = parts[k]!;
      if (s.status === "rejected") {
        cause ??= s.reason;
        return;
      }
      written.push(partition);
      s.value.forEach((offset, j) => {
        results[indexes[j]!] = { topic, partition, offset: String(offset) };
      });
    });
    if (cause !== undefined) {
      if (written.length === 0) {
        const retriable = isRetriable(cause);
        throw new PublishError(topic, records.length, { cause, retriable });
      }
      // Sending the call again would duplicate what was written: say so, and do not invite a retry.
      const failed = parts.map((p) => p.partition).filter((p) => !written.includes(p));
      throw new PublishError(topic, records.length, {
        cause: new Error(
          `partitions ${written.join(", ")} were written and partitions ${failed.join(", ")} were not ` +
            `(${(cause as Error).message}); publishing the call again would duplicate the written records`,
          { cause },
        ),
        retriable: false,
      });
    }
    if (this.#metrics) {
      const bytes = prepared.reduce((sum, r) => sum + payloadBytes(r.key) + payloadBytes(r.value), 0);
      this.#metrics.recordsOut.inc({ connector: KIND, topic }, records.length);
      this.#metrics.bytesOut.inc({ connector: KIND, topic }, bytes);
      this.#metrics.produceLatency.observe({ connector: KIND }, (performance.now() - started) / 1000);
    }
    return results;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (!options.group) throw new TypeError("Cannot subscribe: group is empty");
    if (options.topics.length === 0) throw new TypeError("Cannot subscribe: topics is empty");
    for (const topic of options.topics) {
      if (this.#open().partitionCount(topic) === 0) await this.#autoCreate(topic);
    }
    const group = this.#shared!.group(options.group);
    return await group.join(options, this.#sink);
  }

  // deno-lint-ignore require-await
  async partitionCount(topic: string): Promise<number> {
    const n = this.#open().partitionCount(topic);
    if (n === 0) throw new UnknownTopicError(topic);
    return n;
  }

  // deno-lint-ignore require-await
  async offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    const store = this.#open();
    const n = store.partitionCount(topic);
    if (n === 0) throw new UnknownTopicError(topic);
    const out: PartitionOffsets[] = [];
    for (let p = 0; p < n; p++) {
      const log = store.partitionLog(topic, p)!;
      const entry: PartitionOffsets = { partition: p, low: String(log.low), high: String(log.high) };
      const committed = group === undefined ? undefined : store.committed(group, topic, p);
      if (committed !== undefined) entry.committed = String(committed);
      out.push(entry);
    }
    return out;
  }

  async timestampAt(topic: string, partition: number, offset: string): Promise<number | null> {
    const store = this.#open();
    if (store.partitionCount(topic) === 0) throw new UnknownTopicError(topic);
    const log = store.partitionLog(topic, partition);
    if (!log) throw new RangeError(`Cannot read ${topic}[${partition}]: the topic has no such partition`);
    const from = Math.max(Number(offset), log.low);
    if (from >= log.high) return null;
    const [record] = await log.read(from, 1, 1);
    return record?.timestamp ?? null;
  }

  /**
   * Runs retention now on every topic (it also runs every `retentionCheckIntervalMs`).
   *
   * @returns Number of segments deleted.
   */
  async applyRetention(now = Date.now()): Promise<number> {
    return await this.#open().applyRetention(now);
  }

  onStatus(listener: (status: ConnectorStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes every subscription, flushes and fsyncs the log, saves offsets and releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#connecting?.catch(() => {});
    const shared = this.#shared;
    if (shared) await Promise.all([...shared.groups.values()].map((group) => group.leaveAll(this.#sink)));
    this.#closed = true;
    this.#shared = null;
    if (shared) {
      shared.listeners.delete(this.#forward);
      await shared.release();
      this.#emit({ type: "disconnected" });
    }
  }

  #emit(status: ConnectorStatus): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(status);
      } catch {
        // A failing listener must not break delivery.
      }
    }
  }

  #delivered(group: string, batch: PartitionBatch): void {
    if (!this.#metrics) return;
    const labels = { connector: KIND, topic: batch.topic, group };
    this.#metrics.recordsIn.inc(labels, batch.records.length);
    this.#metrics.bytesIn.inc(
      labels,
      batch.records.reduce((sum, r) => sum + payloadBytes(r.key) + payloadBytes(r.value), 0),
    );
  }
}
