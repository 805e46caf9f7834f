/**
 * A member of an embedded consumer group: the {@link Subscription} that `subscribe` returns. It owns one
 * {@link PartitionFetcher} per assigned partition and applies commits, pause/resume, revocation and assignment.
 *
 * @module
 */

import type {
  SubscribeOptions,
  Subscription,
  SubscriptionEnd,
  SubscriptionHealth,
  TopicPartition,
} from "../types.ts";
import type { ConsumerGroup } from "./consumer_group.ts";
import {
  asError,
  type GroupHost,
  type MemberSink,
  parsePartitionKey,
  partitionKey as key,
} from "./group_types.ts";
import { PartitionFetcher } from "./partition_fetcher.ts";
import type { PartitionLog } from "./partition_log.ts";

/** A member of a consumer group: the `Subscription` returned by `subscribe`. */
export class GroupMember implements Subscription {
  readonly #group: ConsumerGroup;
  readonly #host: GroupHost;
  readonly sink: MemberSink;
  readonly options: SubscribeOptions;
  readonly id: string;
  readonly #fetchers = new Map<string, PartitionFetcher>();
  #closed = false;
  readonly #since = Date.now();
  #end = Promise.withResolvers<SubscriptionEnd>();
  /** The embedded log has no broker to lose: a member consumes from the moment it joined until it is closed. */
  readonly ended: Promise<SubscriptionEnd> = this.#end.promise;

  constructor(
    group: ConsumerGroup,
    host: GroupHost,
    sink: MemberSink,
    options: SubscribeOptions,
    id: string,
  ) {
    this.#group = group;
    this.#host = host;
    this.sink = sink;
    this.options = options;
    this.id = id;
  }

  get group(): string {
    return this.#group.name;
  }

  health(): SubscriptionHealth {
    return this.#closed
      ? { state: "closed", since: this.#since }
      : { state: "consuming", since: this.#since };
  }

  assignments(): TopicPartition[] {
    return [...this.#fetchers.values()].map((f) => ({ topic: f.topic, partition: f.partition }));
  }

  /** Keys of owned partitions. */
  ownedKeys(): string[] {
    return [...this.#fetchers.keys()];
  }

  async commit(topic: string, partition: number, offset: string): Promise<void> {
    if (!/^\d+$/.test(offset)) {
      throw new TypeError(`Cannot commit: offset must be a decimal string, got "${offset}"`);
    }
    const fetcher = this.#fetchers.get(key(topic, partition));
    if (this.#closed || !fetcher) return;
    const log = fetcher.log;
    if (!log) return; // the topic was deleted
    const n = Number(offset);
    const high = log.high;
    if (n >= high) {
      throw new RangeError(
        `Cannot commit ${topic}[${partition}]@${offset}: the partition's high watermark is ${high}`,
      );
    }
    await this.#host.commit(this.#group.name, topic, partition, n + 1);
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#fetchers.get(key(tp.topic, tp.partition))?.setPaused(true);
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#fetchers.get(key(tp.topic, tp.partition))?.setPaused(false);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#group.leave(this);
    this.#closed = true;
    this.#end.resolve({ kind: "closed" });
  }

  /** Marks the member closed after its group dropped it (connector shutdown). */
  markClosed(): void {
    this.#closed = true;
    this.#end.resolve({ kind: "closed" });
  }

  /** Stops the fetchers of the given partitions, waits for their in-flight batch, then calls `onRevoked`. */
  async revoke(keys: string[]): Promise<void> {
    const fetchers = keys.map((k) => this.#fetchers.get(k)).filter((f): f is PartitionFetcher => !!f);
    if (fetchers.length === 0) return;
    await Promise.all(fetchers.map((f) => f.stop(this.sink.settings.rebalanceTimeoutMs)));
    const partitions = fetchers.map((f) => ({ topic: f.topic, partition: f.partition }));
    try {
      await this.options.onRevoked?.(partitions);
    } catch (e) {
      this.sink.emit({ type: "error", error: asError(e), group: this.group });
    }
    for (const k of keys) this.#fetchers.delete(k);
    this.sink.emit({ type: "revoked", group: this.group, partitions });
  }

  /** Calls `onAssigned`, then starts fetching each partition at its committed offset (or the reset point). */
  async assign(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const fetchers = keys.map((k) => {
      const { topic, partition } = parsePartitionKey(k);
      return new PartitionFetcher(this, this.#host, topic, partition);
    });
    for (const f of fetchers) this.#fetchers.set(key(f.topic, f.partition), f);
    const partitions = fetchers.map((f) => ({ topic: f.topic, partition: f.partition }));
    try {
      await this.options.onAssigned?.(partitions);
    } catch (e) {
      this.sink.emit({ type: "error", error: asError(e), group: this.group });
    }
    this.sink.emit({ type: "assigned", group: this.group, partitions });
    for (const f of fetchers) f.start();
  }

  /** Where a partition without a usable committed offset starts. */
  resetPosition(log: PartitionLog): number {
    return this.options.fromBeginning ? log.low : log.high;
  }
}
