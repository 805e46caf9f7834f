/**
 * Consumer groups inside one process: members of a group share the partitions of their topics (Kafka's range
 * assignment), each owned partition is fetched by one loop that delivers batches in order, and a member joining
 * or leaving triggers a rebalance that revokes moved partitions (stop fetching, wait for the in-flight batch,
 * `onRevoked`) before assigning them elsewhere (`onAssigned`, start from the committed offset).
 *
 * @module
 */

import type {
  ConnectorStatus,
  PartitionBatch,
  SubscribeOptions,
  Subscription,
  TopicPartition,
} from "../types.ts";
import { OffsetOutOfRangeError, type PartitionLog } from "./partition_log.ts";

/** What a group needs from the connector that owns it. */
export interface GroupHost {
  /** The partition's log, or `undefined` if the topic or partition no longer exists. */
  partitionLog(topic: string, partition: number): PartitionLog | undefined;
  /** Partition count of a topic, or 0 if it does not exist. */
  partitionCount(topic: string): number;
  /** Committed position (next offset to read) of a group, if any. */
  committed(group: string, topic: string, partition: number): number | undefined;
  /** Stores a committed position durably. */
  commit(group: string, topic: string, partition: number, next: number): Promise<void>;
}

/** Where a member reports: the connector that subscribed it (several connectors may share one log). */
export interface MemberSink {
  emit(status: ConnectorStatus): void;
  /** Called after a batch was handed to `onBatch` successfully (metrics). */
  delivered(group: string, batch: PartitionBatch, lag: number): void;
  readonly settings: GroupSettings;
}

/** Delivery tuning shared by all groups. */
export interface GroupSettings {
  maxBatchRecords: number;
  maxBatchBytes: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  rebalanceTimeoutMs: number;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** One consumer group and its members. */
export class ConsumerGroup {
  readonly name: string;
  readonly #host: GroupHost;
  readonly #members: GroupMember[] = [];
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;

  constructor(name: string, host: GroupHost) {
    this.name = name;
    this.#host = host;
  }

  /** Members currently in the group. */
  get size(): number {
    return this.#members.length;
  }

  /** Whether any member subscribes to one of the topics. */
  subscribesTo(topics: string[]): boolean {
    return this.#members.some((m) => m.options.topics.some((t) => topics.includes(t)));
  }

  /**
   * Adds a member and rebalances; resolves once the new assignment is in place.
   *
   * @param options The subscription.
   * @param sink Where the member reports status and metrics.
   * @returns The member's subscription.
   */
  async join(options: SubscribeOptions, sink: MemberSink): Promise<GroupMember> {
    const member = new GroupMember(this, this.#host, sink, options, String(this.#seq++).padStart(10, "0"));
    this.#members.push(member);
    await this.rebalance();
    return member;
  }

  /** Removes a member (revoking all it owns) and rebalances the rest. */
  async leave(member: GroupMember): Promise<void> {
    const i = this.#members.indexOf(member);
    if (i < 0) return;
    this.#members.splice(i, 1);
    await this.rebalance([member]);
  }

  /**
   * Removes several members at once (a connector shutting down): their partitions go to the remaining members.
   *
   * @param sink The connector whose members leave.
   */
  async leaveAll(sink: MemberSink): Promise<void> {
    const leaving = this.#members.filter((m) => m.sink === sink);
    if (leaving.length === 0) return;
    for (const m of leaving) this.#members.splice(this.#members.indexOf(m), 1);
    await this.rebalance(leaving);
    for (const m of leaving) m.markClosed();
  }

  /**
   * Recomputes the assignment (e.g. after topics changed) and moves partitions: revocations complete before any
   * assignment. Rebalances of one group run one at a time.
   *
   * @param leaving Members that left and must give up everything.
   */
  rebalance(leaving: GroupMember[] = []): Promise<void> {
    const run = this.#chain.then(() => this.#rebalance(leaving));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #rebalance(leaving: GroupMember[]): Promise<void> {
    for (const sink of new Set([...leaving, ...this.#members].map((m) => m.sink))) {
      sink.emit({ type: "rebalancing", group: this.name });
    }
    const target = this.#assign();
    await Promise.all([...leaving, ...this.#members].map((m) => {
      const wanted = target.get(m) ?? new Set<string>();
      return m.revoke(m.ownedKeys().filter((k) => !wanted.has(k)));
    }));
    for (const m of this.#members) {
      const owned = new Set(m.ownedKeys());
      await m.assign([...(target.get(m) ?? [])].filter((k) => !owned.has(k)));
    }
  }

  /** Kafka's RangeAssignor: per topic, members (in join order) get contiguous ranges, the first ones one more. */
  #assign(): Map<GroupMember, Set<string>> {
    const target = new Map<GroupMember, Set<string>>(this.#members.map((m) => [m, new Set()]));
    const topics = [...new Set(this.#members.flatMap((m) => m.options.topics))].sort();
    for (const topic of topics) {
      const members = this.#members.filter((m) => m.options.topics.includes(topic));
      const n = this.#host.partitionCount(topic);
      const per = Math.floor(n / members.length);
      const extra = n % members.length;
      let p = 0;
      members.forEach((m, i) => {
        const count = per + (i < extra ? 1 : 0);
        for (let k = 0; k < count; k++) target.get(m)!.add(key(topic, p++));
      });
    }
    return target;
  }
}

/** A member of a consumer group: the `Subscription` returned by `subscribe`. */
export class GroupMember implements Subscription {
  readonly #group: ConsumerGroup;
  readonly #host: GroupHost;
  readonly sink: MemberSink;
  readonly options: SubscribeOptions;
  readonly id: string;
  readonly #fetchers = new Map<string, PartitionFetcher>();
  #closed = false;

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
  }

  /** Marks the member closed after its group dropped it (connector shutdown). */
  markClosed(): void {
    this.#closed = true;
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
      const i = k.indexOf("\u0000");
      return new PartitionFetcher(this, this.#host, k.slice(0, i), Number(k.slice(i + 1)));
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

/** The fetch-and-deliver loop of one owned partition. */
class PartitionFetcher {
  readonly topic: string;
  readonly partition: number;
  readonly #member: GroupMember;
  readonly #host: GroupHost;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #paused = false;
  #position: number | null = null;
  #done: Promise<void> = Promise.resolve();

  constructor(member: GroupMember, host: GroupHost, topic: string, partition: number) {
    this.#member = member;
    this.#host = host;
    this.topic = topic;
    this.partition = partition;
    const log = this.log;
    if (log) {
      // Resolve the start now: "latest" means the high watermark at assignment time.
      this.#position = host.committed(member.group, topic, partition) ?? member.resetPosition(log);
    }
  }

  get log(): PartitionLog | undefined {
    return this.#host.partitionLog(this.topic, this.partition);
  }

  start(): void {
    this.#done = this.#run().catch((e) => {
      this.#member.sink.emit({ type: "error", error: asError(e), group: this.#member.group });
    });
  }

  setPaused(paused: boolean): void {
    this.#paused = paused;
    this.#wakeUp();
  }

  /** Stops fetching and waits (up to `timeoutMs`) for the batch in flight to settle. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stop.abort();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#done,
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  #wakeUp(): void {
    const old = this.#wake;
    this.#wake = new AbortController();
    old.abort();
  }

  #signal(): AbortSignal {
    return AbortSignal.any([this.#stop.signal, this.#wake.signal]);
  }

  async #run(): Promise<void> {
    const { maxBatchRecords, maxBatchBytes, retryBackoffMs, maxRetryBackoffMs } = this.#member.sink.settings;
    const stop = this.#stop.signal;
    let batch: PartitionBatch | null = null;
    let attempts = 0;
    while (!stop.aborted) {
      if (this.#paused) {
        await waitAbort(this.#signal());
        continue;
      }
      const log = this.log;
      if (!log) {
        await waitAbort(this.#signal()); // topic deleted: the coming rebalance revokes us
        continue;
      }
      this.#position ??= this.#host.committed(this.#member.group, this.topic, this.partition) ??
        this.#member.resetPosition(log);
      if (!batch) {
        try {
          const stored = await log.read(this.#position, maxBatchRecords, maxBatchBytes);
          if (stored.length === 0) {
            await log.waitFor(this.#position, this.#signal());
            continue;
          }
          batch = {
            topic: this.topic,
            partition: this.partition,
            highWatermark: String(log.high),
            records: stored.map((r) => ({
              topic: this.topic,
              partition: this.partition,
              offset: String(r.offset),
              key: r.key,
              value: r.value,
              headers: r.headers,
              timestamp: r.timestamp,
            })),
          };
        } catch (e) {
          if (e instanceof OffsetOutOfRangeError) {
            this.#position = this.#member.resetPosition(log);
            continue;
          }
          throw e;
        }
      }
      if (stop.aborted || this.#paused) continue;
      const current: PartitionBatch = batch;
      try {
        await Promise.resolve().then(() => this.#member.options.onBatch(current));
        this.#position = Number(current.records.at(-1)!.offset) + 1;
        this.#member.sink.delivered(this.#member.group, current, Math.max(0, log.high - this.#position));
        batch = null;
        attempts = 0;
      } catch (e) {
        attempts++;
        this.#member.sink.emit({ type: "error", error: asError(e), group: this.#member.group });
        // Redeliver the batch from the committed position: records the handler committed before failing are done.
        const committed = this.#host.committed(this.#member.group, this.topic, this.partition) ?? -1;
        const rest = current.records.filter((r) => Number(r.offset) >= committed);
        if (rest.length === 0) {
          this.#position = Number(current.records.at(-1)!.offset) + 1;
          batch = null;
          continue;
        }
        batch = { ...current, records: rest };
        const delay = Math.min(maxRetryBackoffMs, retryBackoffMs * 2 ** (attempts - 1));
        await sleep(delay, stop);
      }
    }
  }
}

function waitAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
