/**
 * One opened embedded log per data directory per process. Every {@link EmbeddedConnector} of the process that
 * names the same directory shares it — the same partitions, offsets and consumer groups — the way several Kafka
 * clients share one cluster. The last connector to close it closes the files and releases the lock.
 *
 * @module
 */

import type { ConnectorStatus } from "../types.ts";
import { ConsumerGroup, type GroupHost } from "./consumer_group.ts";
import { EmbeddedLogStore, type LogDefaults } from "./embedded_log_store.ts";

const opened = new Map<string, Promise<SharedLog>>();

/** A data directory's log, shared by the connectors of this process. */
export class SharedLog {
  readonly store: EmbeddedLogStore;
  readonly groups = new Map<string, ConsumerGroup>();
  /** Next partition per topic for records without a key. */
  readonly roundRobin = new Map<string, number>();
  /** Receives errors of background work (retention). */
  readonly listeners = new Set<(status: ConnectorStatus) => void>();
  readonly host: GroupHost;
  readonly #key: string;
  #refs = 0;
  #timer: ReturnType<typeof setInterval>;

  private constructor(key: string, store: EmbeddedLogStore, retentionCheckIntervalMs: number) {
    this.#key = key;
    this.store = store;
    this.host = {
      partitionLog: (topic, partition) => store.partitionLog(topic, partition),
      partitionCount: (topic) => store.partitionCount(topic),
      committed: (group, topic, partition) => store.committed(group, topic, partition),
      commit: (group, topic, partition, next) => store.commit(group, topic, partition, next),
    };
    this.#timer = setInterval(() => {
      store.applyRetention().catch((error) => {
        for (const l of this.listeners) l({ type: "error", error });
      });
    }, retentionCheckIntervalMs);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Opens a data directory, or joins this process's already-open log of it.
   *
   * @param dataDir The directory.
   * @param defaults Topic defaults (those of the first connector that opens the directory apply).
   * @param retentionCheckIntervalMs How often retention runs.
   * @returns The shared log; call `release()` once done.
   * @throws {DataDirLockedError} If another process holds the directory.
   */
  static async acquire(
    dataDir: string,
    defaults: LogDefaults,
    retentionCheckIntervalMs: number,
  ): Promise<SharedLog> {
    await Deno.mkdir(dataDir, { recursive: true });
    const key = await Deno.realPath(dataDir);
    let pending = opened.get(key);
    if (!pending) {
      pending = EmbeddedLogStore.open(dataDir, defaults).then((store) =>
        new SharedLog(key, store, retentionCheckIntervalMs)
      );
      opened.set(key, pending);
      pending.catch(() => opened.delete(key));
    }
    const shared = await pending;
    shared.#refs++;
    return shared;
  }

  /** The named consumer group, created on first use. */
  group(name: string): ConsumerGroup {
    let group = this.groups.get(name);
    if (!group) {
      group = new ConsumerGroup(name, this.host);
      this.groups.set(name, group);
    }
    return group;
  }

  /** Rebalances the groups that subscribe to any of the topics (partitions added, topic created or deleted). */
  async topologyChanged(topics: string[]): Promise<void> {
    for (const group of this.groups.values()) {
      if (group.subscribesTo(topics)) await group.rebalance();
    }
  }

  /** Drops one reference; the last one flushes and closes the log and releases the lock. */
  async release(): Promise<void> {
    if (--this.#refs > 0) return;
    opened.delete(this.#key);
    clearInterval(this.#timer);
    await this.store.close();
  }
}
