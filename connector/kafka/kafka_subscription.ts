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
 * Health ({@link KafkaSubscription.health}) follows kafkajs' instrumentation events: `joining` until the first
 * `GROUP_JOIN`, `rebalancing` after `REBALANCING`, `waiting_for_broker` after a crash kafkajs restarts by itself
 * (a lost broker), `stalled` when no fetch completed for {@link stallAfterMs} although partitions are assigned,
 * `crashed` after a crash kafkajs does not restart (then {@link KafkaSubscription.ended} resolves and the
 * partitions are revoked), `closed` after `close()`. While it waits, it logs what it waits for every few seconds.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import type {
  ConnectorStatus,
  ConsumedRecord,
  PartitionBatch,
  PartitionOffsets,
  RecordHeaders,
  SubscribeOptions,
  Subscription,
  SubscriptionEnd,
  SubscriptionHealth,
  SubscriptionState,
  TopicPartition,
} from "../types.ts";
import { sleepOrAbort } from "../../core/abortable_sleep.ts";
import type { ConnectorMetrics } from "../connector_metrics.ts";
import { CommitError, ConnectorClosedError, ConsumerCrashedError } from "../errors.ts";
import { getLogger } from "../../core/log.ts";
import { connectErrorFrom } from "./kafka_errors.ts";
import type { ResolvedKafkaOptions } from "./kafka_options.ts";
import { backoffDelay } from "../../core/backoff_delay.ts";

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
/** Longest delay between a consumer's reconnect attempts (kafkajs restarts a crashed consumer after it). */
const CONSUMER_MAX_RETRY_MS = 2000;
/** How often a member that waits (to join, for the broker) logs what it waits for. */
const WAIT_LOG_EVERY_MS = 5000;
const log = getLogger("connector.kafka.consumer");

/** How long a member with partitions may go without a completed fetch before it counts as stalled. */
export function stallAfterMs(
  config: Pick<ResolvedKafkaOptions, "maxWaitTimeInMs" | "sessionTimeout">,
): number {
  // An idle fetch returns after maxWaitTimeInMs; a heartbeat-less member is dropped after sessionTimeout.
  return Math.max(4 * config.maxWaitTimeInMs, config.sessionTimeout);
}

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
  #health: SubscriptionHealth = { state: "joining", reason: "joining the group", since: Date.now() };
  #lastFetchAt = 0;
  #waitLog: ReturnType<typeof setInterval> | undefined;
  #end = Promise.withResolvers<SubscriptionEnd>();
  readonly ended: Promise<SubscriptionEnd> = this.#end.promise;
  #removeMember: ((memberId: string) => Promise<boolean>) | undefined;
  #offsetsOf: ((topic: string) => Promise<PartitionOffsets[]>) | undefined;
  /** The member id of the current join; unset between a crash and the next join. */
  #memberId: string | undefined;

  constructor(
    kafka: Kafka,
    options: SubscribeOptions,
    config: ResolvedKafkaOptions,
    emit: (status: ConnectorStatus) => void,
    onClosed: () => void,
    metrics?: ConnectorMetrics,
    removeMember?: (memberId: string) => Promise<boolean>,
    offsetsOf?: (topic: string) => Promise<PartitionOffsets[]>,
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
    this.#removeMember = removeMember;
    this.#offsetsOf = offsetsOf;
    this.#consumer = kafka.consumer({
      groupId: options.group,
      sessionTimeout: config.sessionTimeout,
      rebalanceTimeout: config.rebalanceTimeout,
      heartbeatInterval: config.heartbeatInterval,
      maxWaitTimeInMs: config.maxWaitTimeInMs,
      allowAutoTopicCreation: false,
      // A consumer that lost its broker restarts after its last retry's delay: keep that short, so it is
      // consuming again soon after the broker is back.
      retry: {
        ...config.retry,
        maxRetryTime: Math.min(config.retry.maxRetryTime, CONSUMER_MAX_RETRY_MS),
      },
    });
    const { GROUP_JOIN, REBALANCING, CRASH, FETCH, CONNECT } = this.#consumer.events;
    this.#consumer.on(CONNECT, () => {
      // kafkajs reconnected after a lost broker and is joining the group again (as a new member).
      if (this.#health.state === "waiting_for_broker") {
        this.#setState("joining", "reconnected to the broker; joining the group again");
      }
    });
    this.#consumer.on(GROUP_JOIN, (event) => {
      if (this.#memberId !== event.payload.memberId) {
        this.#memberId = event.payload.memberId;
        config.memberIds?.set(this.group, this.#memberId);
      }
      this.#onJoin(event.payload.memberAssignment);
    });
    this.#consumer.on(FETCH, () => {
      this.#lastFetchAt = Date.now();
    });
    this.#consumer.on(this.#consumer.events.START_BATCH_PROCESS, (event) => {
      const { topic, partition, batchSize, firstOffset, lastOffset, highWatermark } = event.payload;
      // Only a fetch kafkajs filtered to nothing (markers, aborted records): the others reach eachBatch.
      if (batchSize !== 0 || firstOffset === null || lastOffset === undefined) return;
      void this.#track(this.#onSkipped({ topic, partition, records: [], highWatermark, lastOffset }));
    });
    this.#consumer.on(REBALANCING, () => {
      this.#setState(
        "rebalancing",
        "the group is rebalancing: waiting for the coordinator to assign partitions",
      );
      this.#emit({ type: "rebalancing", group: this.group });
      this.#scheduleCommit();
    });
    this.#consumer.on(CRASH, (event) => {
      const error = event.payload.error;
      this.#emit({ type: "error", error, group: this.group });
      if (this.#closing) return;
      if (!event.payload.restart) {
        void this.#crashed(error);
        return;
      }
      this.#crashes++;
      this.#metrics?.reconnects.inc({ connector: "kafka" });
      // kafkajs restarts the consumer as a new member; the old one would hold the next join until its session
      // expires, so remove it as soon as the coordinator answers.
      const stale = this.#memberId;
      this.#memberId = undefined;
      if (stale) void this.#removeUntilJoined(stale);
      const retryTime = (error as { retryTime?: number }).retryTime;
      const delayMs = typeof retryTime === "number" ? retryTime : config.retry.initialRetryTime;
      this.#setState("waiting_for_broker", `${error.name}: ${error.message}; reconnecting in ${delayMs} ms`);
      log.warn("consumer of group {group} lost the broker ({error}); reconnecting in {delayMs} ms", {
        group: this.group,
        error: `${error.name}: ${error.message}`,
        delayMs,
      });
      this.#emit({ type: "reconnecting", attempt: this.#crashes, delayMs });
    });
  }

  /** The membership's state; `consuming` turns `stalled` when no fetch completed for {@link stallAfterMs}. */
  health(): SubscriptionHealth {
    const h = this.#health;
    if (h.state !== "consuming" || this.#assigned.size === 0) return { ...h };
    const quiet = Date.now() - this.#lastFetchAt;
    if (quiet <= stallAfterMs(this.#config)) return { ...h };
    return {
      state: "stalled",
      reason: `no fetch completed for ${(quiet / 1000).toFixed(1)} s`,
      since: this.#lastFetchAt,
    };
  }

  #setState(state: SubscriptionState, reason?: string): void {
    if (this.#health.state === "crashed" || this.#health.state === "closed") return;
    if (this.#health.state !== state || this.#health.reason !== reason) {
      this.#health = { state, ...(reason ? { reason } : {}), since: Date.now() };
    }
  }

  /** Every few seconds while the member waits (to join, for the broker), says what it waits for. */
  #logWaits(): void {
    this.#waitLog = setInterval(() => {
      const { state, reason, since } = this.#health;
      if (state !== "joining" && state !== "rebalancing" && state !== "waiting_for_broker") return;
      log.info("consumer of group {group} is {state} for {seconds} s: {reason}", {
        group: this.group,
        state: state.replaceAll("_", " "),
        seconds: Math.round((Date.now() - since) / 1000),
        reason: state === "waiting_for_broker" ? reason : `${reason} (a member that died without leaving ` +
          `holds the rebalance until its session expires, sessionTimeout ${this.#config.sessionTimeout} ms)`,
      });
    }, WAIT_LOG_EVERY_MS);
    Deno.unrefTimer(this.#waitLog);
  }

  /**
   * Removes `stale` from the group, retrying every half second while the coordinator is unreachable, until it is
   * gone, this subscription joined again, or it ended.
   */
  async #removeUntilJoined(stale: string): Promise<void> {
    while (this.#memberId === undefined && !this.#closing && this.#health.state !== "crashed") {
      if (await this.#removeStale(stale, "before kafkajs restarted this consumer", false)) return;
      await sleepOrAbort(500, this.#abort.signal);
    }
  }

  /** One attempt at removing `stale`; true when the group no longer has it. */
  async #removeStale(stale: string, why: string, logFailure = true): Promise<boolean> {
    if (!this.#removeMember) return true;
    try {
      const removed = await this.#removeMember(stale);
      if (removed) {
        log.info(
          "removed member {member} of group {group}, left {why}: the group rebalances without waiting " +
            "for its session to expire",
          { member: stale, group: this.group, why },
        );
      }
      return true;
    } catch (error) {
      if (logFailure) {
        log.warn("could not remove member {member} of group {group}: {error}", {
          member: stale,
          group: this.group,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      return false;
    }
  }

  /** kafkajs gave up (a crash it does not restart): revoke everything, end the membership with the error. */
  async #crashed(error: Error): Promise<void> {
    if (this.#health.state === "crashed") return;
    const crash = new ConsumerCrashedError(this.group, { cause: error });
    this.#health = { state: "crashed", reason: `${error.name}: ${error.message}`, since: Date.now() };
    clearInterval(this.#waitLog);
    log.error("consumer of group {group} crashed and kafkajs does not restart it: {error}", {
      group: this.group,
      error: `${error.name}: ${error.message}`,
    });
    const owned = this.assignments();
    this.#assigned.clear();
    this.#generation++;
    for (const mark of this.#marks.values()) {
      for (const w of mark.waiters) w.reject(new ConnectorClosedError("subscription", { cause: crash }));
    }
    this.#marks.clear();
    await this.#gate;
    if (owned.length > 0) {
      this.#emit({ type: "revoked", group: this.group, partitions: owned });
      await guard(() => this.#options.onRevoked?.(owned), (e) => this.#emitError(e));
    }
    await this.#consumer.disconnect().catch(() => {});
    this.#onClosed();
    this.#end.resolve({ kind: "crashed", error: crash });
  }

  /** Connects, joins the group and starts delivery; resolves once the first assignment is known. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    log.info("joining group {group} for {topics}", { group: this.group, topics: this.#options.topics });
    this.#logWaits();
    try {
      await this.#consumer.connect();
      const previous = this.#config.memberIds?.get(this.group);
      if (previous) {
        await this.#removeStale(previous, "by this node's previous run, which stopped without leaving");
      }
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
      clearInterval(this.#waitLog);
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
    return this.#commitPosition(topic, partition, BigInt(offset) + 1n);
  }

  /** Commits `position` (the next offset to consume) for an owned partition; never moves it backwards. */
  #commitPosition(topic: string, partition: number, position: bigint): Promise<void> {
    const key = tpKey(topic, partition);
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
    clearInterval(this.#waitLog);
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    while (this.#committing) await this.#committing;
    if (this.#marks.size > 0) {
      this.#committing = this.#commitMarks(true);
      await this.#committing;
      this.#committing = null;
    }
    this.#closed = true;
    const owned = this.assignments();
    if (this.#health.state !== "crashed") this.#health = { state: "closed", since: Date.now() };
    try {
      await this.#consumer.disconnect(); // leaves the group
      if (this.#memberId) this.#config.memberIds?.set(this.group, undefined);
    } finally {
      this.#assigned.clear();
      this.#onClosed();
      this.#end.resolve({ kind: "closed" });
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
    if (this.#health.state === "crashed" || this.#closing) return;
    this.#crashes = 0;
    this.#lastFetchAt = Date.now();
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
    }
    this.#assigned = new Map(next.map((tp) => [tpKey(tp.topic, tp.partition), tp]));
    const waited = Date.now() - this.#health.since;
    this.#setState("consuming");
    log.info("joined group {group} in {ms} ms: {count} partition(s) assigned", {
      group: this.group,
      ms: waited,
      count: next.length,
    });
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
    if (!this.#options.fromBeginning) void this.#commitStartingPoints(next, this.#generation);
  }

  /**
   * A group that starts at the end of a partition it never committed would, after a restart, start at the end
   * again and skip what was written while it was down (an idle partition never gets a commit of processed
   * records). So the position it starts from — the high watermark, where nothing was committed — is committed at
   * once. Records that arrive meanwhile are delivered and committed as usual (a commit never moves back).
   */
  async #commitStartingPoints(assigned: TopicPartition[], generation: number): Promise<void> {
    if (!this.#offsetsOf) return;
    const fresh = assigned.filter((tp) => !this.#committed.has(tpKey(tp.topic, tp.partition)));
    for (const topic of new Set(fresh.map((tp) => tp.topic))) {
      try {
        const offsets = await this.#offsetsOf(topic);
        for (const p of offsets) {
          const key = tpKey(topic, p.partition);
          const ours = fresh.some((tp) => tp.topic === topic && tp.partition === p.partition);
          if (!ours || p.committed !== undefined || generation !== this.#generation) continue;
          if (!this.#assigned.has(key) || this.#marks.has(key) || this.#committed.has(key) || this.#closed) {
            continue;
          }
          await this.#commitPosition(topic, p.partition, BigInt(p.high));
        }
      } catch (error) {
        log.warn("could not commit the starting points of group {group} on {topic}: {error}", {
          group: this.group,
          topic,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
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
      const delayMs = backoffDelay(failures - 1, { initialMs: 100, maxMs: MAX_FAILURE_DELAY_MS, jitter: 0 });
      await sleepOrAbort(delayMs, this.#abort.signal);
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
