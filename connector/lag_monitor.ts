/**
 * Consumer lag, measured on a timer from the log's offsets — not from what a consumer fetched — so a consumer
 * that crashed, stalled or never joined still shows its lag growing.
 *
 * Every `intervalMs`, per group and subscribed topic: one offsets query (low and high watermarks and the
 * group's committed offsets), then per partition
 * - `qistream_consumer_lag` = high − committed (the low watermark where the group committed nothing), and
 * - `qistream_consumer_lag_seconds` = now − timestamp of the record at the committed offset (the oldest record
 *   the group has not committed), 0 when caught up.
 *
 * Cost is bounded: the timestamp is read (one fetch of at most one record batch, `timestampAt`) only when a
 * partition's committed offset moved since the last round; a stalled partition costs no read and its age keeps
 * growing. Rounds never overlap. A failed round keeps the last values and logs once until a round succeeds.
 *
 * @module
 */
import { getLogger } from "../core/log.ts";
import type { ConnectorMetrics } from "./connector_metrics.ts";
import { nextToConsume, partitionLag } from "./partition_lag.ts";
import type { StreamConnector } from "./types.ts";

/** A consumer group and the topics it reads. */
export interface LagTarget {
  group: string;
  topics: readonly string[];
}

/** The last measured lag of one partition of one group ({@linkcode LagMonitor.snapshot}). */
export interface PartitionLagReading {
  group: string;
  topic: string;
  partition: number;
  /** Records not committed yet. */
  records: number;
  /** Age of the oldest uncommitted record, in seconds (0 when caught up). */
  seconds: number;
  /** When it was measured, ms since the epoch. */
  at: number;
}

/** Options of {@linkcode LagMonitor}. */
export interface LagMonitorOptions {
  connector: StreamConnector;
  targets: readonly LagTarget[];
  metrics: ConnectorMetrics;
  /** Time between rounds (default 5000 ms). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

const log = getLogger("connector.lag");

/**
 * Measures every target's lag per partition, in records and seconds, into the connector metric families.
 *
 * @example
 * ```ts
 * const monitor = new LagMonitor({ connector, targets: [{ group: "pg", topics: ["market.ticks"] }], metrics });
 * monitor.start();
 * // ...
 * await monitor.stop();
 * ```
 */
export class LagMonitor {
  #opts: LagMonitorOptions;
  #intervalMs: number;
  #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;
  /** Per group/topic/partition: the offset whose record timestamp is known, and that timestamp. */
  #oldest = new Map<string, { offset: string; timestamp: number | null }>();
  #failing = new Set<string>();
  #last = new Map<string, PartitionLagReading>();

  /** @throws {RangeError} when `intervalMs` is not a positive number */
  constructor(options: LagMonitorOptions) {
    const intervalMs = options.intervalMs ?? 5000;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`Cannot measure lag: intervalMs is ${intervalMs}, expected a positive number`);
    }
    this.#opts = options;
    this.#intervalMs = intervalMs;
    this.#now = options.now ?? Date.now;
  }

  /** Measures now, then every `intervalMs` until {@linkcode LagMonitor.stop}. */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const tick = () => {
      this.#round = this.measure().finally(() => {
        this.#round = undefined;
        if (this.#stopped) return;
        this.#timer = setTimeout(tick, this.#intervalMs);
        Deno.unrefTimer(this.#timer);
      });
    };
    this.#timer = setTimeout(tick, 0);
    Deno.unrefTimer(this.#timer);
  }

  /** The last reading of every measured partition, by group, topic and partition. */
  snapshot(): PartitionLagReading[] {
    return [...this.#last.values()].sort((a, b) =>
      a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition
    );
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }

  /** One round over every target; errors are logged, never thrown. */
  async measure(): Promise<void> {
    for (const { group, topics } of this.#opts.targets) {
      for (const topic of topics) {
        if (this.#stopped) return;
        const what = `${group}/${topic}`;
        try {
          await this.#measureTopic(group, topic);
          if (this.#failing.delete(what)) {
            log.info("lag of {group} on {topic} is measured again", { group, topic });
          }
        } catch (error) {
          if (!this.#failing.has(what)) {
            this.#failing.add(what);
            log.warn("cannot measure the lag of {group} on {topic} (keeping the last values): {error}", {
              group,
              topic,
              error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
            });
          }
        }
      }
    }
  }

  async #measureTopic(group: string, topic: string): Promise<void> {
    const { connector, metrics } = this.#opts;
    const offsets = await connector.offsets(topic, group);
    const now = this.#now();
    let failure: unknown;
    for (const p of offsets) {
      const labels = { connector: connector.kind, group, topic, partition: String(p.partition) };
      const lag = partitionLag(p);
      metrics.consumerLag.set(labels, lag);
      const key = `${group}\u0000${topic}\u0000${p.partition}`;
      const reading = (seconds: number) =>
        this.#last.set(key, { group, topic, partition: p.partition, records: lag, seconds, at: now });
      if (lag === 0) {
        metrics.consumerLagSeconds.set(labels, 0);
        reading(0);
        continue;
      }
      const next = nextToConsume(p);
      let oldest = this.#oldest.get(key);
      if (oldest?.offset !== next) {
        try {
          oldest = { offset: next, timestamp: await connector.timestampAt(topic, p.partition, next) };
        } catch (error) {
          failure ??= error; // the records lag of the other partitions is still measured
          continue;
        }
        this.#oldest.set(key, oldest);
      }
      const age = oldest.timestamp === null ? 0 : Math.max(0, now - oldest.timestamp) / 1000;
      metrics.consumerLagSeconds.set(labels, age);
      reading(age);
    }
    if (failure !== undefined) throw failure;
  }
}
