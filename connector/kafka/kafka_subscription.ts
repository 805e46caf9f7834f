/**
 * One consumer-group membership over kafkajs, with manual, explicit commits.
 *
 * kafkajs runs with `autoCommit: false` and `eachBatchAutoResolve: false`, so it never commits by itself and
 * only moves its fetch position past a batch once `onBatch` resolved. What gets committed is exactly what the
 * caller passed to {@link KafkaSubscription.commit}; a commit for a partition this member no longer owns is
 * ignored, and a commit never moves a partition's position backwards.
 *
 * Rebalances follow Kafka's eager protocol (kafkajs's only one): on every new generation all previously owned
 * partitions are revoked (`onRevoked`, awaited before any batch of the new generation is delivered), uncommitted
 * marks of partitions that moved away are dropped, and delivery of every assigned partition restarts at its
 * committed offset. Batches of a paused partition that were already fetched are not delivered; they are fetched
 * again after `resume`.
 *
 * Offsets that hold no record for the consumer (transaction markers, records of aborted transactions) are
 * reported as a batch's `lastOffset` when they follow its last record, and a fetch that held nothing else
 * (kafkajs skips it without calling `eachBatch`; seen through its `START_BATCH_PROCESS` event) is delivered as a
 * batch with no records and a `lastOffset`, so the caller can commit past them — as the Java consumer's
 * position does — and an idle transactional topic shows no lag.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import type {
  ConnectorStatus,
  ConsumedRecord,
  PartitionBatch,
  RecordHeaders,
  SubscribeOptions,
  Subscription,
  TopicPartition,
} from "../types.ts";
import { interruptibleSleep } from "../_interruptible_sleep.ts";
import type { ConnectorMetrics } from "../connector_metrics.ts";
import { CommitError, ConnectorClosedError } from "../errors.ts";
import { connectErrorFrom } from "./kafka_errors.ts";
import type { ResolvedKafkaOptions } from "./kafka_options.ts";

interface Waiter {
  position: bigint;
  resolve(): void;
  reject(error: unknown): void;
}

interface Mark {
  topic: string;
  partition: number;
  /** The committed position to write: last processed offset + 1. */
  position: bigint;
  waiters: Waiter[];
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const OFFSET = /^\d+$/;
const MAX_FAILURE_DELAY_MS = 5000;

/** A live kafkajs consumer-group membership implementing {@link Subscription}. */
export class KafkaSubscription implements Subscription {
  readonly group: string;
  #options: SubscribeOptions;
  #config: ResolvedKafkaOptions;
  #consumer: Consumer;
  #emit: (status: ConnectorStatus) => void;
  #metrics: ConnectorMetrics | undefined;
  #onClosed: () => void;
  #assigned = new Map<string, TopicPartition>();
  #generation = 0;
  #paused = new Set<string>();
  #marks = new Map<string, Mark>();
  #committed = new Map<string, bigint>();
  #failures = new Map<string, number>();
  #gate: Promise<void> = Promise.resolve();
  #committing: Promise<void> | null = null;
  #inFlight = new Set<Promise<void>>();
  #closing: Promise<void> | null = null;
  /** Set once close() has flushed the marks: commits are refused from then on. */
  #closed = false;
  #abort = new AbortController();
  #started = false;
  /** Consecutive consumer crashes since the last successful join (the `reconnecting` attempt number). */
  #crashes = 0;

  constructor(
    kafka: Kafka,
    options: SubscribeOptions,
    config: ResolvedKafkaOptions,
    emit: (status: ConnectorStatus) => void,
    onClosed: () => void,
    metrics?: ConnectorMetrics,
  ) {
    if (typeof options.group !== "string" || options.group === "") {
      throw new TypeError(`Cannot subscribe: group is "${options.group}", expected a group id`);
    }
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new TypeError("Cannot subscribe: topics is empty, expected at least one topic");
    }
    this.group = options.group;
    this.#options = options;
    this.#config = config;
    this.#emit = emit;
    this.#metrics = metrics;
    this.#onClosed = onClosed;
    this.#consumer = kafka.consumer({
      groupId: options.group,
      sessionTimeout: config.sessionTimeout,
      heartbeatInterval: config.heartbeatInterval,
      maxWaitTimeInMs: config.maxWaitTimeInMs,
      allowAutoTopicCreation: false,
      retry: { ...config.retry },
    });
    const { GROUP_JOIN, REBALANCING, CRASH, START_BATCH_PROCESS } = this.#consumer.events;
    this.#consumer.on(START_BATCH_PROCESS, (event) => {
      const { topic, partition, batchSize, firstOffset, lastOffset, highWatermark } = event.payload;
      // Only a fetch kafkajs filtered to nothing (markers, aborted records): the others reach eachBatch.
      if (batchSize !== 0 || firstOffset === null || lastOffset === undefined) return;
      void this.#track(this.#onSkipped({ topic, partition, records: [], highWatermark, lastOffset }));
    });
    this.#consumer.on(GROUP_JOIN, (event) => this.#onJoin(event.payload.memberAssignment));
    this.#consumer.on(REBALANCING, () => {
      this.#emit({ type: "rebalancing", group: this.group });
      this.#scheduleCommit();
    });
    this.#consumer.on(CRASH, (event) => {
      const error = event.payload.error;
      this.#emit({ type: "error", error, group: this.group });
      if (event.payload.restart && !this.#closing) {
        this.#crashes++;
        this.#metrics?.reconnects.inc({ connector: "kafka" });
        const retryTime = (error as { retryTime?: number }).retryTime;
        this.#emit({
          type: "reconnecting",
          attempt: this.#crashes,
          delayMs: typeof retryTime === "number" ? retryTime : config.retry.initialRetryTime,
        });
      }
    });
  }

  /** Connects, joins the group and starts delivery; resolves once the first assignment is known. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      await this.#consumer.connect();
      for (const topic of this.#options.topics) {
        await this.#consumer.subscribe({ topic, fromBeginning: this.#options.fromBeginning ?? false });
      }
      await this.#consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.#config.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.#track(this.#eachBatch(payload)),
      });
    } catch (error) {
      await this.#consumer.disconnect().catch(() => {});
      this.#onClosed();
      throw connectErrorFrom(error, this.#config.brokers);
    }
  }

  assignments(): TopicPartition[] {
    return [...this.#assigned.values()].map((tp) => ({ ...tp }));
  }

  commit(topic: string, partition: number, offset: string): Promise<void> {
    if (!OFFSET.test(offset)) {
      return Promise.reject(new TypeError(`Cannot commit: offset is "${offset}", expected a decimal string`));
    }
    if (this.#closed) return Promise.reject(new ConnectorClosedError("subscription"));
    const key = tpKey(topic, partition);
    if (!this.#assigned.has(key)) return Promise.resolve(); // not ours (any more): ignored
    const position = BigInt(offset) + 1n;
    if ((this.#committed.get(key) ?? -1n) >= position) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const mark = this.#marks.get(key);
      const waiter = { position, resolve, reject };
      if (mark) {
        if (mark.position < position) mark.position = position;
        mark.waiters.push(waiter);
      } else {
        this.#marks.set(key, { topic, partition, position, waiters: [waiter] });
      }
      this.#scheduleCommit();
    });
  }

  pause(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.#paused.add(tpKey(topic, partition));
    if (this.#closing || partitions.length === 0) return;
    this.#consumer.pause(byTopic(partitions));
  }

  resume(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.#paused.delete(tpKey(topic, partition));
    if (this.#closing || partitions.length === 0) return;
    this.#consumer.resume(byTopic(partitions));
  }

  /**
   * Stops delivery, waits for batches being handled, commits what was marked, then leaves the group.
   * Do not await it from inside `onBatch`: it waits for that very batch to finish.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#abort.abort();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    while (this.#committing) await this.#committing;
    if (this.#marks.size > 0) {
      this.#committing = this.#commitMarks(true);
      await this.#committing;
      this.#committing = null;
    }
    this.#closed = true;
    const owned = this.assignments();
    try {
      await this.#consumer.disconnect();
    } finally {
      this.#assigned.clear();
      for (const tp of owned) this.#removeLag(tp);
      this.#onClosed();
    }
    if (owned.length > 0) {
      this.#emit({ type: "revoked", group: this.group, partitions: owned });
      try {
        await this.#options.onRevoked?.(owned);
      } catch (error) {
        this.#emit({ type: "error", error: asError(error), group: this.group });
      }
    }
  }

  #track(work: Promise<void>): Promise<void> {
    this.#inFlight.add(work);
    return work.finally(() => this.#inFlight.delete(work));
  }

  #onJoin(memberAssignment: Record<string, number[]>): void {
    this.#crashes = 0;
    const previous = this.assignments();
    const next: TopicPartition[] = [];
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of [...partitions].sort((a, b) => a - b)) next.push({ topic, partition });
    }
    const nextKeys = new Set(next.map((tp) => tpKey(tp.topic, tp.partition)));
    this.#generation++;
    for (const tp of previous) {
      const key = tpKey(tp.topic, tp.partition);
      if (nextKeys.has(key)) continue;
      // Lost: uncommitted marks are dropped (their commits are ignored, as for any partition not owned).
      const mark = this.#marks.get(key);
      this.#marks.delete(key);
      for (const waiter of mark?.waiters ?? []) waiter.resolve();
      this.#committed.delete(key);
      this.#failures.delete(key);
      this.#removeLag(tp);
    }
    this.#assigned = new Map(next.map((tp) => [tpKey(tp.topic, tp.partition), tp]));
    for (const key of [...this.#paused]) if (!nextKeys.has(key)) this.#paused.delete(key);
    const stillPaused = next.filter((tp) => this.#paused.has(tpKey(tp.topic, tp.partition)));
    if (stillPaused.length > 0) this.#consumer.pause(byTopic(stillPaused));
    const { onRevoked, onAssigned } = this.#options;
    this.#gate = this.#gate.then(async () => {
      if (previous.length > 0) {
        this.#emit({ type: "revoked", group: this.group, partitions: previous });
        await guard(() => onRevoked?.(previous), (error) => this.#emitError(error));
      }
      this.#emit({ type: "assigned", group: this.group, partitions: next.map((tp) => ({ ...tp })) });
      await guard(() => onAssigned?.(next.map((tp) => ({ ...tp }))), (error) => this.#emitError(error));
    });
    this.#scheduleCommit();
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const key = tpKey(topic, partition);
    const generation = this.#generation;
    await this.#gate;
    const current = () =>
      !this.#abort.signal.aborted && isRunning() && !isStale() && generation === this.#generation &&
      this.#assigned.has(key);
    // Not resolving a batch makes kafkajs fetch it again from the same offset later.
    if (!current() || this.#paused.has(key) || batch.messages.length === 0) return;
    const records = batch.messages.map((m) => toRecord(topic, partition, m));
    // The fetch may end with offsets that hold no record (a transaction's commit marker): cover them too.
    const covered = batch.lastOffset();
    const lastOffset = BigInt(covered) > BigInt(records.at(-1)!.offset) ? covered : undefined;
    const delivered: PartitionBatch = {
      topic,
      partition,
      records,
      highWatermark: batch.highWatermark,
      ...(lastOffset === undefined ? {} : { lastOffset }),
    };
    try {
      await this.#options.onBatch(delivered);
    } catch (error) {
      this.#emitError(error);
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      await interruptibleSleep(Math.min(100 * 2 ** (failures - 1), MAX_FAILURE_DELAY_MS), this.#abort.signal);
      // Deliver the same batch again: fetch from its first offset (with autoCommit off, seek commits nothing).
      if (current()) this.#consumer.seek({ topic, partition, offset: records[0]!.offset });
      return;
    }
    this.#failures.delete(key);
    const last = lastOffset ?? records[records.length - 1]!.offset;
    if (generation === this.#generation && this.#assigned.has(key)) resolveOffset(last);
    if (this.#metrics) {
      const labels = { connector: "kafka", topic, group: this.group };
      let bytes = 0;
      for (const m of batch.messages) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
      this.#metrics.recordsIn.inc(labels, records.length);
      this.#metrics.bytesIn.inc(labels, bytes);
      const lag = BigInt(batch.highWatermark) - BigInt(last) - 1n;
      this.#metrics.consumerLag.set(
        { connector: "kafka", group: this.group, topic, partition: String(partition) },
        Number(lag < 0n ? 0n : lag),
      );
    }
  }

  /** Delivers a fetch that held only offsets without records (kafkajs has already moved past them). */
  async #onSkipped(batch: PartitionBatch): Promise<void> {
    const key = tpKey(batch.topic, batch.partition);
    const generation = this.#generation;
    await this.#gate;
    if (this.#abort.signal.aborted || generation !== this.#generation || !this.#assigned.has(key)) return;
    if (this.#paused.has(key)) return; // fetched before the pause took effect: the next fetch covers it again
    try {
      await this.#options.onBatch(batch);
    } catch (error) {
      this.#emitError(error);
    }
    const lag = BigInt(batch.highWatermark) - BigInt(batch.lastOffset!) - 1n;
    this.#metrics?.consumerLag.set(
      { connector: "kafka", group: this.group, topic: batch.topic, partition: String(batch.partition) },
      Number(lag < 0n ? 0n : lag),
    );
  }

  #scheduleCommit(): void {
    if (this.#committing || this.#marks.size === 0 || this.#closed) return;
    this.#committing = this.#commitMarks(false).finally(() => {
      this.#committing = null;
      if ([...this.#marks.values()].some((m) => m.waiters.length > 0)) this.#scheduleCommit();
    });
  }

  /** Commits the current marks in one request; `all` also retries marks left from a failed attempt. */
  async #commitMarks(all: boolean): Promise<void> {
    const marks = [...this.#marks.values()].filter((m) => all || m.waiters.length > 0);
    for (const m of marks) this.#marks.delete(tpKey(m.topic, m.partition));
    const owned = marks.filter((m) => this.#assigned.has(tpKey(m.topic, m.partition)));
    for (const m of marks) if (!owned.includes(m)) { for (const w of m.waiters) w.resolve(); }
    if (owned.length === 0) return;
    try {
      await this.#consumer.commitOffsets(
        owned.map((m) => ({ topic: m.topic, partition: m.partition, offset: m.position.toString() })),
      );
    } catch (error) {
      for (const m of owned) {
        const key = tpKey(m.topic, m.partition);
        // Keep the mark (without waiters) so close() or the next commit retries it, unless superseded.
        if (this.#assigned.has(key) && !this.#marks.has(key)) {
          this.#marks.set(key, { ...m, waiters: [] });
        }
        const failure = new CommitError(this.group, m.topic, m.partition, (m.position - 1n).toString(), {
          cause: error,
          retriable: true,
        });
        for (const w of m.waiters) w.reject(failure);
      }
      return;
    }
    for (const m of owned) {
      const key = tpKey(m.topic, m.partition);
      if (this.#assigned.has(key) && (this.#committed.get(key) ?? -1n) < m.position) {
        this.#committed.set(key, m.position);
      }
      for (const w of m.waiters) w.resolve();
    }
  }

  #removeLag(tp: TopicPartition): void {
    this.#metrics?.consumerLag.remove({
      connector: "kafka",
      group: this.group,
      topic: tp.topic,
      partition: String(tp.partition),
    });
  }

  #emitError(error: unknown): void {
    this.#emit({ type: "error", error: asError(error), group: this.group });
  }
}

function byTopic(partitions: TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = map.get(topic);
    if (list) list.push(partition);
    else map.set(topic, [partition]);
  }
  return [...map].map(([topic, list]) => ({ topic, partitions: list }));
}

function toRecord(topic: string, partition: number, m: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? toBytes(m.key) : null,
    value: m.value ? toBytes(m.value) : null,
    headers: toHeaders(m.headers),
    timestamp: Number(m.timestamp),
  };
}

function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function toHeaders(headers: IHeaders | undefined): RecordHeaders {
  const result: RecordHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    result[name] = typeof last === "string" ? last : Buffer.from(last).toString("utf8");
  }
  return result;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

async function guard(fn: () => unknown, onError: (error: unknown) => void): Promise<void> {
  try {
    await fn();
  } catch (error) {
    onError(error);
  }
}
