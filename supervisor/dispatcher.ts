/**
 * Partition-keyed dispatch with commit-after-ack: the main-thread bridge between one consuming agent's
 * consumer group and its N actor instances.
 *
 * - **Stable ownership.** Each partition is routed to exactly one instance ({@linkcode assignPartition}), the
 *   same across restarts of that instance, so per-key order holds.
 * - **Batching by count and time.** Fetched records are merged into the partition's last unsent batch until it
 *   holds `maxBatchRecords`; a batch is sent when it is full, `maxBatchWaitMs` after its first record, or at
 *   once when that is 0 ({@linkcode appendRecords}). Batches sent before (retries, redeliveries) never grow.
 * - **Bounded memory.** Batches go to an instance only while its handle has credit. A partition whose next
 *   batch cannot be sent (window full, owner restarting, retry backoff) is paused at the connector and
 *   resumed when it drains; only a single open batch keeps fetching ({@linkcode mustPause}), so at most one
 *   batch plus one fetch per partition waits in the dispatcher.
 * - **Commit after ack.** Offsets are committed per partition up to the acked prefix of delivered records
 *   ({@linkcode OffsetTracker}), never past an unacked one. Offsets the log never delivers (compacted away,
 *   transaction markers, aborted records) never hold a commit back, wherever they fall: between fetches,
 *   inside a batch, between the halves of a split batch; a batch's trailing markers (`lastOffset`) are
 *   committed past, so an idle transactional topic shows no lag.
 * - **Redelivery.** When an actor exits, its unacked batches go back to the front of their partitions'
 *   queues, in offset order, and are sent to the next incarnation ({@linkcode Dispatcher.attach}, called from
 *   `onStarted`).
 * - **Revocation.** A revoked partition's queued and in-flight batches are dropped without commit; the
 *   connector starts a newly assigned partition at its committed offset.
 * - **Poison records.** A batch that fails `maxAttempts` times (handler failures, or crashes while it was the
 *   oldest batch in its actor) is split in halves, recursively ({@linkcode failureDecision}); a single record
 *   that still fails goes to the dead-letter topic with its error (stage `handler`) and its partition moves
 *   on. A record the `decode` hook rejects goes there at stage `decode` without reaching an actor — unless
 *   the error is retriable (the registry did not answer): then the partition backs up and is redelivered.
 * - **A broken dead-letter path stops the consumer.** A dead letter that cannot be written (missing topic,
 *   ACL denial, too large even truncated, or the log unreachable past `deadLetterTimeoutMs`) fails the
 *   dispatcher with `DeadLetterFailedError`: it stops dispatching, commits up to the record and leaves the
 *   group, and says so ({@linkcode Dispatcher.problem}, {@linkcode Dispatcher.onFailed}, `dispatcher_failed`).
 *
 * - **Operator pause.** {@linkcode Dispatcher.pause} stops fetching every owned partition, and every partition
 *   assigned later (after a rebalance), while the group membership stays (no rebalance), as Kafka Connect's
 *   pause; batches already fetched are still processed and committed. {@linkcode Dispatcher.resume} resumes
 *   the partitions flow control does not hold. Lag grows while paused.
 * - **Supervised membership.** When the subscription crashes ({@linkcode Subscription.ended}), every partition
 *   is dropped as on revocation, {@linkcode Dispatcher.crashed} resolves with the error and the dispatcher's
 *   child exits `crashed`; its supervisor calls `start()` again (a new membership resumes at the committed
 *   offsets), within its restart intensity. {@linkcode Dispatcher.health} says whether data can flow.
 *
 * Order caveat: batches of one partition are pipelined (up to the credit window), so when a batch fails,
 * later batches of its partition already in flight are not recalled; its retries run before any batch not yet
 * sent.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { AgentBatch } from "../actors/runtime/agent_batch.ts";
import { bytesRecords } from "../actors/runtime/agent_record.ts";
import { sendToDeadLetter } from "../connector/dead_letter.ts";
import { isRetriable } from "../core/retriable.ts";
import type {
  ConsumedRecord,
  PartitionBatch,
  StreamConnector,
  Subscription,
  SubscriptionHealth,
  TopicPartition,
} from "../connector/types.ts";
import { ActorExitedError } from "./actor_exited_error.ts";
import { appendRecords, type BatchLimits, isOpen, isReady, mustPause, readyAt } from "./batch_coalescer.ts";
import { BatchFailedError } from "./batch_failed_error.ts";
import { actorChild, type ActorChildOptions } from "./actor_child.ts";
import type { ActorHandle } from "./actor_handle.ts";
import type { ChildSpec, ExitReason } from "./child_spec.ts";
import { DeadLetterFailedError } from "./dead_letter_failed_error.ts";
import {
  consumerCrashes,
  dispatcherCommits,
  dispatcherDeadLetterFailures,
  dispatcherDecodeRetries,
  dispatcherFailed,
  dispatcherRedeliveries,
} from "./dispatcher_metrics.ts";
import { OffsetTracker } from "./offset_tracker.ts";
import { failureDecision, retryDelay } from "./poison_policy.ts";
import { isEnvironmentFailure } from "./crash_blame.ts";
import { assignPartition } from "./partition_assignment.ts";
import { abortableSleep } from "../core/abortable_sleep.ts";
import { backoffDelay } from "../core/backoff_delay.ts";
import { integerAtLeast } from "../core/integer_at_least.ts";

/** Header carrying the correlation id from source to sink. */
export const CORRELATION_HEADER = "correlation-id";

/** Options of {@linkcode Dispatcher}. */
export interface DispatcherOptions {
  connector: StreamConnector;
  /** Agent name: the dead letters' `dlq.agent` and the metrics' `agent` label. */
  agent: string;
  /** Consumer group (default: the agent name). */
  group?: string;
  topics: string[];
  /** Instance ids, in a fixed order; each is attached with {@linkcode Dispatcher.attach}. */
  instances: readonly string[];
  /** Where poison and undecodable records go. */
  deadLetterTopic: string;
  /** Start partitions without a committed offset at the earliest offset (default `false`: latest). */
  fromBeginning?: boolean;
  /** Most records per batch sent to an actor; larger fetched batches are cut (default 500). */
  maxBatchRecords?: number;
  /**
   * Longest wait, from a batch's first record, for more records to fill it before it is sent (default 0: send
   * as soon as the actor has credit). Records behind a full credit window are merged either way.
   */
  maxBatchWaitMs?: number;
  /** Tries of a batch before it is split, and of a single record before it is dead-lettered (default 3). */
  maxAttempts?: number;
  /** Delay before a retry: `minMs * 2^(attempt-1)`, capped at `maxMs` (default 20 ms, 2000 ms). */
  retryBackoff?: { minMs?: number; maxMs?: number };
  /**
   * Runs on the main thread before dispatch (e.g. `AvroSerde.decode`); the actor receives its result as the
   * record's value, while dead letters keep the original bytes. A throw sends the record to the dead-letter
   * topic at stage `decode`, unless the error says `retriable: true` (e.g. `SchemaLookupError`: the registry
   * did not answer): that is not the record's fault, so the records before it are dispatched and the rest of
   * the fetch is handed back to the connector, which delivers it again with backoff (the partition backs up).
   */
  decode?: (record: ConsumedRecord) => unknown;
  /**
   * How long a dead letter that fails retriably (the log unreachable) is retried before the dispatcher fails
   * (default 120 000 ms, Kafka's `delivery.timeout.ms`). A failure retrying cannot fix fails it at once.
   */
  deadLetterTimeoutMs?: number;
  /** Start paused (the desired state an operator left), as after {@linkcode Dispatcher.pause}. */
  paused?: PauseInfo;
}

/** Who paused a dispatcher, and when. */
export interface PauseInfo {
  /** The caller, e.g. `http:ops` or `mcp:local`. */
  by: string;
  /** ISO time. */
  at: string;
}

/** Counters of one dispatcher since it started. */
export interface DispatcherStats {
  batchesAcked: number;
  recordsAcked: number;
  /** Batches sent again after their actor exited. */
  redeliveredBatches: number;
  redeliveredRecords: number;
  /** Batches sent again after a handler failure. */
  retries: number;
  /** Batches split to isolate failing records. */
  splits: number;
  deadLetters: number;
  commits: number;
  /** Times a partition was paused at the connector. */
  pauses: number;
  /** Largest number of batches in flight over all instances at once. */
  maxInflight: number;
  /** In-flight or queued batches dropped because their partition was revoked. */
  droppedOnRevoke: number;
}

/** One partition in {@linkcode DispatcherSnapshot}. */
export interface PartitionNode {
  topic: string;
  partition: number;
  owner: string;
  /** Batches sent to the owner and not yet acked. */
  inflight: number;
  /** Batches waiting to be sent (retries and batches beyond the window). */
  queued: number;
  paused: boolean;
  /** Last offset committed by this dispatcher (the connector stores it + 1), if any. */
  committed: string | null;
}

/** The consumer-group membership in {@linkcode DispatcherSnapshot}. */
export interface SubscriptionNode extends SubscriptionHealth {
  /** Memberships that crashed since the dispatcher was created (each restarted by the supervisor). */
  crashes: number;
  /** The last crash, if any. */
  lastCrash?: { name: string; message: string; at: string };
}

/** Whether data can flow through a dispatcher, and why not. */
export interface DispatcherHealth {
  ok: boolean;
  /** Why not, naming the agent and its group. */
  reason?: string;
}

/** The dispatcher's live state, for the introspection JSON. */
export interface DispatcherSnapshot {
  type: "dispatcher";
  agent: string;
  group: string;
  topics: string[];
  subscription: SubscriptionNode;
  instances: { id: string; running: boolean; inflight: number; creditWindow: number | null }[];
  partitions: PartitionNode[];
  stats: DispatcherStats;
  /** Set while an operator paused the agent (fetching stopped, membership kept). */
  paused?: PauseInfo;
}

interface Unit {
  key: string;
  records: ConsumedRecord[];
  from: string;
  to: string;
  correlationId: string;
  /** Tries so far (inherited by the halves of a split). */
  attempts: number;
  /** Split (or dead-letter) once `attempts` reaches it. */
  budget: number;
  notBefore: number;
  /** No more records may be merged into it (see {@linkcode appendRecords}). */
  sealed: boolean;
  /** When its first record arrived. */
  firstAt: number;
  sentTo?: ActorHandle;
  /** Id of the batch it was last sent as (a crash names the batch it is blamed on). */
  batchId?: string;
  /** Failures of the environment (out of memory) in a row: they use no try, but back off. */
  environmentFailures?: number;
  lastError?: unknown;
}

interface PartitionState {
  key: string;
  tp: TopicPartition;
  owner: Instance;
  pending: Unit[];
  inflight: Unit[];
  tracker: OffsetTracker;
  paused: boolean;
  committed: string | null;
  committing: boolean;
  dropped: boolean;
  /** The timer that sends the open batch when its wait is over, and when it fires. */
  wait?: { at: number; timer: ReturnType<typeof setTimeout> };
}

interface Instance {
  id: string;
  handle?: ActorHandle;
  off: (() => void)[];
  partitions: Set<PartitionState>;
}

const log = getLogger(["qistream", "dispatcher"]);
/** How long a failed dispatcher waits for its in-flight batches, so what they processed is committed. */
const FAILED_DRAIN_MS = 5000;
const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

/**
 * Routes one consuming agent's partitions to its actor instances and commits what they acked.
 *
 * @example
 * ```ts
 * const dispatcher = new Dispatcher({
 *   connector, agent: "sink", topics: ["market.ticks"], instances: ["sink-0", "sink-1"],
 *   deadLetterTopic: "market.dead-letter",
 * });
 * const root = await Supervisor.start({
 *   id: "root", intensity: 10, periodMs: 5000,
 *   children: dispatcher.children({ module: new URL("./sink.ts", import.meta.url), creditWindow: 4 }),
 * });
 * await dispatcher.start();
 * // ...
 * await dispatcher.close(); // drain, commit, leave the group
 * await root.stop();
 * ```
 */
export class Dispatcher {
  readonly agent: string;
  readonly group: string;
  readonly deadLetterTopic: string;
  /** The topics its group reads. */
  readonly topics: readonly string[];
  #opts: DispatcherOptions;
  #instances = new Map<string, Instance>();
  #order: string[];
  #partitions = new Map<string, PartitionState>();
  #sub: Subscription | undefined;
  /** Partitions whose last decode failed retriably (the registry did not answer), with the error. */
  #decodeStalls = new Map<string, unknown>();
  /** Partitions whose dead letter is being retried, with the last failure. */
  #deadLetterStalls = new Map<string, DeadLetterFailedError>();
  /** Set when the dead-letter path broke for good: the dispatcher stopped. */
  #failure: DeadLetterFailedError | undefined;
  /** The failure a restart cleared, kept (readiness, `dispatcher_failed`) until a commit shows data flows again. */
  #lastFailure: DeadLetterFailedError | undefined;
  #failedListeners: ((error: DeadLetterFailedError) => void)[] = [];
  #deadLetterTimeoutMs: number;
  /** Decoded values of records held in queues, keyed by the raw record (whose bytes dead letters keep). */
  #decoded = new WeakMap<ConsumedRecord, unknown>();
  #batchSeq = 0;
  #closing = false;
  #closeOp: Promise<void> | undefined;
  #crashes = 0;
  /** Set while an operator paused fetching. */
  #held: PauseInfo | undefined;
  #createdAt = Date.now();
  #lastCrash: { error: Error; at: number } | undefined;
  #crashed = Promise.withResolvers<Error>();
  /** Set once close() has left the group: nothing is committed any more. */
  #closed = false;
  /** Set by close(): every queued batch is ready, however young. */
  #flushing = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #work = new Set<Promise<unknown>>();
  #limits: BatchLimits;
  #maxAttempts: number;
  #backoff: { minMs: number; maxMs: number };
  #stats: DispatcherStats = {
    batchesAcked: 0,
    recordsAcked: 0,
    redeliveredBatches: 0,
    redeliveredRecords: 0,
    retries: 0,
    splits: 0,
    deadLetters: 0,
    commits: 0,
    pauses: 0,
    maxInflight: 0,
    droppedOnRevoke: 0,
  };

  /**
   * @throws {RangeError} When there are no instances, an id repeats, or a numeric option is out of range.
   * @throws {TypeError} When the dead-letter topic or the topics are missing.
   */
  constructor(options: DispatcherOptions) {
    if (options.instances.length === 0) {
      throw new RangeError("Cannot create a dispatcher: instances is empty, expected at least one id");
    }
    if (new Set(options.instances).size !== options.instances.length) {
      throw new RangeError(
        `Cannot create a dispatcher: instance ids repeat in ${options.instances.join(",")}`,
      );
    }
    if (options.topics.length === 0) throw new TypeError("Cannot create a dispatcher: topics is empty");
    if (!options.deadLetterTopic) throw new TypeError("Cannot create a dispatcher: deadLetterTopic is empty");
    this.#opts = options;
    this.agent = options.agent;
    this.group = options.group ?? options.agent;
    this.deadLetterTopic = options.deadLetterTopic;
    this.topics = [...options.topics];
    this.#order = [...options.instances];
    for (const id of this.#order) this.#instances.set(id, { id, off: [], partitions: new Set() });
    const maxWaitMs = options.maxBatchWaitMs ?? 0;
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
      throw new RangeError(
        `Cannot create a dispatcher: maxBatchWaitMs must be a number >= 0, current value is ${maxWaitMs}`,
      );
    }
    this.#limits = {
      maxRecords: integerAtLeast("create a dispatcher", "maxBatchRecords", options.maxBatchRecords ?? 500),
      maxWaitMs,
    };
    this.#maxAttempts = integerAtLeast("create a dispatcher", "maxAttempts", options.maxAttempts ?? 3);
    this.#backoff = { minMs: options.retryBackoff?.minMs ?? 20, maxMs: options.retryBackoff?.maxMs ?? 2000 };
    this.#deadLetterTimeoutMs = options.deadLetterTimeoutMs ?? 120_000;
    if (!Number.isFinite(this.#deadLetterTimeoutMs) || this.#deadLetterTimeoutMs < 0) {
      throw new RangeError(
        "Cannot create a dispatcher: deadLetterTimeoutMs must be a number >= 0, current value is " +
          this.#deadLetterTimeoutMs,
      );
    }
    dispatcherFailed().set({ agent: this.agent }, 0);
    this.#held = options.paused;
  }

  /**
   * Stops fetching every partition this member owns or is assigned later, keeping the group membership.
   * Idempotent: a second pause keeps the first one's `by` and `at`.
   *
   * @param by Who asked, for the tree and the audit.
   * @returns The pause in effect.
   */
  pause(by: string): PauseInfo {
    this.#held ??= { by, at: new Date().toISOString() };
    for (const p of this.#partitions.values()) this.#flowControl(p);
    return this.#held;
  }

  /** Resumes fetching after {@linkcode pause} (partitions flow control holds stay paused until they drain). */
  resume(): void {
    if (!this.#held) return;
    this.#held = undefined;
    for (const p of this.#partitions.values()) this.#flowControl(p);
  }

  /** The operator pause in effect, if any. */
  get paused(): PauseInfo | undefined {
    return this.#held;
  }

  /**
   * Child specs of the instances, each attaching its every incarnation to this dispatcher. Put them in a
   * supervisor; `publish` defaults to the dispatcher's connector.
   *
   * @param opts Actor options shared by all instances.
   * @returns One `actorChild` per instance id.
   */
  children(opts: Omit<ActorChildOptions, "id" | "onStarted">): ChildSpec[] {
    const publish = opts.publish ??
      ((topic, records) => this.#opts.connector.publish(topic, bytesRecords(topic, records)));
    return this.#order.map((id) =>
      actorChild({ ...opts, id, publish, onStarted: (handle) => this.attach(id, handle) })
    );
  }

  /**
   * Makes `handle` the current incarnation of instance `id`: its partitions' unacked batches are redelivered
   * to it, in order, then new ones follow.
   *
   * @throws {RangeError} When `id` is not one of the instances.
   */
  attach(id: string, handle: ActorHandle): void {
    const inst = this.#instances.get(id);
    if (!inst) throw new RangeError(`Cannot attach: ${id} is not an instance of ${this.agent}`);
    for (const off of inst.off.splice(0)) off();
    inst.handle = handle;
    inst.off.push(
      handle.on("credit", () => this.#pump(inst)),
      handle.on("exit", (reason) => this.#onExit(inst, handle, reason)),
    );
    if (handle.state !== "running") return this.#onExit(inst, handle, { kind: "killed" });
    this.#pump(inst);
  }

  /**
   * Joins the consumer group; batches flow to attached instances from then on. Called again after a crash or a
   * `close()`, it joins anew and delivery resumes at the committed offsets.
   */
  async start(): Promise<void> {
    if (this.#sub) return;
    await this.#closeOp?.catch(() => {}); // a failed dispatcher's own close ends before it subscribes again
    this.#closeOp = undefined;
    this.#closing = false;
    this.#closed = false;
    if (this.#failure) {
      // A restart after a broken dead-letter path tries again from the committed offsets.
      this.#lastFailure = this.#failure;
      this.#failure = undefined;
    }
    this.#deadLetterStalls.clear();
    this.#decodeStalls.clear();
    this.#flushing = false;
    this.#crashed = Promise.withResolvers<Error>();
    const sub = await this.#opts.connector.subscribe({
      group: this.group,
      topics: this.#opts.topics,
      fromBeginning: this.#opts.fromBeginning,
      onBatch: (batch) => this.#onBatch(batch),
      onAssigned: (partitions) => {
        for (const tp of partitions) {
          const p = this.#partition(tp);
          if (this.#held) this.#flowControl(p); // a pause holds across rebalances
        }
      },
      onRevoked: (partitions) => this.#onRevoked(partitions),
    });
    this.#sub = sub;
    const crashed = this.#crashed;
    void sub.ended.then((end) => {
      if (end.kind !== "crashed" || this.#sub !== sub) return;
      this.#sub = undefined;
      this.#crashes++;
      this.#lastCrash = { error: end.error, at: Date.now() };
      const cause = end.error.cause instanceof Error ? end.error.cause : end.error;
      consumerCrashes().inc({ agent: this.agent, group: this.group, error: cause.name });
      log.error("the consumer of agent {agent} (group {group}) crashed: {error}", {
        agent: this.agent,
        group: this.group,
        error: end.error.message,
      });
      crashed.resolve(end.error);
    });
    for (const p of this.#partitions.values()) if (p.paused) sub.pause([p.tp]);
  }

  /** Resolves with the error when the current membership crashes (never when it is closed). */
  crashed(): Promise<Error> {
    return this.#crashed.promise;
  }

  /**
   * Whether data can flow: the membership is `consuming` (joined and fetching, or idle with nothing to fetch).
   * Otherwise the reason names the agent, its group, the membership's state and the last crash.
   */
  health(): DispatcherHealth {
    const sub = this.subscriptionNode();
    if (sub.state === "consuming") return { ok: true };
    const who = `agent ${this.agent} (group ${this.group})`;
    const last = sub.lastCrash;
    if (!this.#sub && last) {
      return {
        ok: false,
        reason: `${who}: consumer crashed ${sub.crashes} time(s), last at ${last.at}: ${last.message}`,
      };
    }
    const before = last ? `; crashed ${sub.crashes} time(s) before, last at ${last.at}: ${last.message}` : "";
    return {
      ok: false,
      reason: `${who}: consumer ${sub.state.replaceAll("_", " ")}: ${sub.reason ?? ""}${before}`,
    };
  }

  /** The membership's state, crash count and last crash. */
  subscriptionNode(): SubscriptionNode {
    const last = this.#lastCrash;
    const health: SubscriptionHealth = this.#sub?.health() ??
      (last
        ? { state: "crashed", reason: last.error.message, since: last.at }
        : this.#closing
        ? { state: "closed", reason: "the dispatcher was stopped", since: this.#createdAt }
        : { state: "joining", reason: "not subscribed yet", since: this.#createdAt });
    return {
      ...health,
      crashes: this.#crashes,
      ...(last
        ? {
          lastCrash: {
            name: last.error.name,
            message: last.error.message,
            at: new Date(last.at).toISOString(),
          },
        }
        : {}),
    };
  }

  /**
   * Waits until every owned partition was fetched up to its high watermark at the time of the call (so what the
   * sources, stopped first, published is drained too), then stops fetching, sends the batches still waiting to
   * fill (within credit), waits for batches in flight to be acked, commits the acked prefix and leaves the group;
   * all within `drainMs` (the catching up within half of it). Batches that found no credit are not
   * sent; they are delivered again after a restart. Call it from the root supervisor's `onGiveUp` before
   * exiting, so what was processed is committed.
   */
  close(drainMs = 5000): Promise<void> {
    this.#closeOp ??= this.#close(drainMs);
    return this.#closeOp;
  }

  async #close(drainMs: number): Promise<void> {
    const deadline = Date.now() + drainMs;
    // At most half of the time: a consumer far behind cannot catch up anyway, and the drain needs the rest.
    await this.#catchUp(Date.now() + drainMs / 2);
    this.#flushing = true;
    for (const inst of this.#instances.values()) this.#pump(inst);
    this.#closing = true;
    const all = [...this.#partitions.values()];
    this.#sub?.pause(all.map((p) => p.tp));
    while (Date.now() < deadline && all.some((p) => p.inflight.length > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    while (this.#work.size > 0 || all.some((p) => p.committing)) {
      await Promise.allSettled([...this.#work]);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const inst of this.#instances.values()) for (const off of inst.off.splice(0)) off();
    const sub = this.#sub;
    this.#sub = undefined;
    await sub?.close();
    this.#closed = true;
  }

  /**
   * Before a stop: waits, until `deadline`, for every owned partition to be fetched up to the log's high
   * watermark as it is now, so what the sources (stopped first) published is drained and committed too.
   */
  async #catchUp(deadline: number): Promise<void> {
    if (!this.#sub || this.#failure || this.#held) return; // paused: nothing is fetched to catch up with
    const targets: { key: string; high: bigint }[] = [];
    for (const topic of this.topics) {
      const offsets = await this.#opts.connector.offsets(topic, this.group).catch(() => []);
      for (const o of offsets) {
        const key = tpKey(topic, o.partition);
        // Where the group stands with nothing delivered in this session: nothing to wait for when that is the end.
        const start = BigInt(o.committed ?? (this.#opts.fromBeginning ? o.low : o.high));
        if (this.#partitions.has(key) && start < BigInt(o.high)) targets.push({ key, high: BigInt(o.high) });
      }
    }
    const behind = () =>
      targets.some(({ key, high }) => {
        const p = this.#partitions.get(key);
        return p !== undefined && !p.dropped && p.tracker.highest + 1n < high;
      });
    while (this.#sub && Date.now() < deadline && behind()) await new Promise((r) => setTimeout(r, 10));
  }

  /** The current incarnation of instance `id`, if one is attached and has not exited. */
  handle(id: string): ActorHandle | undefined {
    return this.#instances.get(id)?.handle;
  }

  /**
   * Why data does not flow, if it does not: the dispatcher failed (its dead-letter path is broken), a dead
   * letter is being retried, or partitions are backed up because decoding failed retriably (the registry did
   * not answer). `undefined` while everything flows. Readiness reports it.
   */
  problem(): string | undefined {
    if (this.#failure) return `${this.agent} failed: ${this.#failure.message}`;
    if (this.#lastFailure) {
      return `${this.agent} failed: ${this.#lastFailure.message} (restarted, not flowing yet)`;
    }
    const deadLetter = this.#deadLetterStalls.values().next().value;
    if (deadLetter) return `${this.agent}: retrying a dead letter: ${deadLetter.message}`;
    const stalls = [...this.#decodeStalls];
    if (stalls.length === 0) return undefined;
    const [key, error] = stalls[0]!;
    const more = stalls.length > 1 ? ` (and ${stalls.length - 1} more partition(s))` : "";
    return `${this.agent}: ${key} is backed up, decoding failed: ${
      error instanceof Error ? error.message : String(error)
    }${more}`;
  }

  /** Why the dispatcher stopped, once its dead-letter path broke for good. */
  get failure(): DeadLetterFailedError | undefined {
    return this.#failure;
  }

  /**
   * Calls `listener` once if the dispatcher fails (at once if it already has).
   *
   * @returns a function that removes the listener
   */
  onFailed(listener: (error: DeadLetterFailedError) => void): () => void {
    if (this.#failure) {
      listener(this.#failure);
      return () => {};
    }
    this.#failedListeners.push(listener);
    return () => {
      this.#failedListeners = this.#failedListeners.filter((l) => l !== listener);
    };
  }

  /** Counters since start. */
  get stats(): DispatcherStats {
    return { ...this.#stats };
  }

  /** Live state: instances and per partition its owner, in-flight and queued batches and committed offset. */
  snapshot(): DispatcherSnapshot {
    return {
      type: "dispatcher",
      agent: this.agent,
      group: this.group,
      topics: [...this.#opts.topics],
      subscription: this.subscriptionNode(),
      instances: this.#order.map((id) => {
        const h = this.#instances.get(id)!.handle;
        return {
          id,
          running: h?.state === "running",
          inflight: h?.inflight ?? 0,
          creditWindow: h?.creditWindow ?? null,
        };
      }),
      partitions: [...this.#partitions.values()]
        .sort((a, b) => a.tp.topic.localeCompare(b.tp.topic) || a.tp.partition - b.tp.partition)
        .map((p) => ({
          topic: p.tp.topic,
          partition: p.tp.partition,
          owner: p.owner.id,
          inflight: p.inflight.length,
          queued: p.pending.length,
          paused: p.paused,
          committed: p.committed,
        })),
      stats: this.stats,
      ...(this.#held ? { paused: { ...this.#held } } : {}),
    };
  }

  #partition(tp: TopicPartition): PartitionState {
    const key = tpKey(tp.topic, tp.partition);
    let p = this.#partitions.get(key);
    if (!p) {
      const owner = this.#instances.get(assignPartition(tp, this.#order))!;
      p = {
        key,
        tp: { topic: tp.topic, partition: tp.partition },
        owner,
        pending: [],
        inflight: [],
        tracker: new OffsetTracker(),
        paused: false,
        committed: null,
        committing: false,
        dropped: false,
      };
      this.#partitions.set(key, p);
      owner.partitions.add(p);
    }
    return p;
  }

  async #onBatch(batch: PartitionBatch): Promise<void> {
    if (this.#closing || this.#failure || (batch.records.length === 0 && batch.lastOffset === undefined)) {
      return;
    }
    const p = this.#partition(batch);
    let run: ConsumedRecord[] = [];
    const flush = () => {
      this.#enqueue(p, run);
      run = [];
    };
    for (const record of batch.records) {
      if (BigInt(record.offset) <= p.tracker.highest) continue; // delivered again: already tracked
      if (!this.#opts.decode) {
        run.push(record);
        continue;
      }
      try {
        this.#decoded.set(record, await this.#opts.decode(record));
        run.push(record);
        this.#decodeStalls.delete(p.key);
      } catch (error) {
        flush();
        if (isRetriable(error)) {
          // Not the record's fault: dispatch what decoded, and let the connector redeliver the rest later.
          this.#pump(p.owner);
          this.#decodeStalls.set(p.key, error);
          dispatcherDecodeRetries().inc({ agent: this.agent, error_class: errorName(error) });
          log.warn("decoding {partition}@{offset} failed retriably, retrying: {error}", {
            partition: p.key,
            offset: record.offset,
            error: String(error),
          });
          throw error;
        }
        const last = p.pending.at(-1);
        if (last) last.sealed = true; // its range must not span the dead-lettered offset
        p.tracker.track([record.offset]);
        this.#deadLetter(p, record, "decode", error, 1);
      }
    }
    flush();
    if (batch.lastOffset !== undefined && BigInt(batch.lastOffset) > p.tracker.highest) {
      p.tracker.skipTo(batch.lastOffset); // offsets after the last record that hold none (transaction markers)
      this.#commit(p);
    }
    this.#pump(p.owner);
  }

  /** Tracks `records` (which follow everything tracked) and merges or cuts them into the pending units. */
  #enqueue(p: PartitionState, records: ConsumedRecord[]): void {
    if (records.length === 0) return;
    p.tracker.track(records.map((r) => r.offset));
    const now = Date.now();
    const { merged } = appendRecords(p.pending, records, this.#limits, (part): Unit => ({
      key: p.key,
      records: part,
      from: part[0]!.offset,
      to: part.at(-1)!.offset,
      correlationId: part[0]!.headers[CORRELATION_HEADER] ?? crypto.randomUUID(),
      attempts: 0,
      budget: this.#maxAttempts,
      notBefore: 0,
      sealed: false,
      firstAt: now,
    }));
    if (merged) merged.to = merged.records.at(-1)!.offset;
  }

  /** Whether `u`, at the head of its queue, may be sent at `now`. */
  #ready(u: Unit, now: number): boolean {
    return u.notBefore <= now && (this.#flushing || isReady(u, this.#limits, now));
  }

  /** Arms the partition's timer for the moment its open batch (the last one) becomes ready. */
  #armWait(p: PartitionState): void {
    const u = p.pending.at(-1);
    if (!u || p.dropped || this.#closing || !isOpen(u, this.#limits)) return;
    const at = readyAt(u, this.#limits);
    if (at <= Date.now() || (p.wait && p.wait.at <= at)) return;
    if (p.wait) this.#clearWait(p);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      p.wait = undefined;
      this.#pump(p.owner);
    }, at - Date.now());
    this.#timers.add(timer);
    p.wait = { at, timer };
  }

  #clearWait(p: PartitionState): void {
    if (!p.wait) return;
    clearTimeout(p.wait.timer);
    this.#timers.delete(p.wait.timer);
    p.wait = undefined;
  }

  /** Sends the instance's queued batches within its credit, round robin; pauses partitions that must wait. */
  #pump(inst: Instance): void {
    const handle = inst.handle;
    if (handle && handle.state === "running" && !this.#closing && !this.#failure) {
      const now = Date.now();
      let progressed = true;
      while (progressed && handle.hasCredit()) {
        progressed = false;
        for (const p of inst.partitions) {
          if (!handle.hasCredit()) break;
          const u = p.pending[0];
          if (!u || !this.#ready(u, now)) continue;
          p.pending.shift();
          this.#send(p, u, handle);
          progressed = true;
        }
      }
      let inflight = 0;
      for (const i of this.#instances.values()) inflight += i.handle?.inflight ?? 0;
      if (inflight > this.#stats.maxInflight) this.#stats.maxInflight = inflight;
    }
    for (const p of inst.partitions) {
      this.#armWait(p);
      this.#flowControl(p);
    }
  }

  #flowControl(p: PartitionState): void {
    const wait = this.#held !== undefined || mustPause(p.pending, this.#limits);
    if (wait === p.paused || p.dropped) return;
    p.paused = wait;
    if (wait) this.#stats.pauses++;
    if (!this.#sub || this.#closing) return;
    if (wait) this.#sub.pause([p.tp]);
    else this.#sub.resume([p.tp]);
  }

  #send(p: PartitionState, u: Unit, handle: ActorHandle): void {
    u.sentTo = handle;
    u.sealed = true;
    u.batchId = `${u.key}@${u.from}-${u.to}#${++this.#batchSeq}`;
    p.inflight.push(u);
    const batch: AgentBatch = {
      id: u.batchId,
      correlationId: u.correlationId,
      records: u.records.map((r) => this.#decoded.has(r) ? { ...r, value: this.#decoded.get(r) } : r),
    };
    handle.send(batch).then(
      () => this.#onAck(p, u, handle),
      (error) => this.#onFail(p, u, handle, error),
    );
  }

  #onAck(p: PartitionState, u: Unit, handle: ActorHandle): void {
    if (u.sentTo !== handle || p.dropped) return;
    u.sentTo = undefined;
    p.inflight.splice(p.inflight.indexOf(u), 1);
    this.#stats.batchesAcked++;
    this.#stats.recordsAcked += u.records.length;
    p.tracker.ack(u.from, u.to);
    this.#commit(p);
    this.#pump(p.owner);
  }

  #onFail(p: PartitionState, u: Unit, handle: ActorHandle, error: unknown): void {
    if (u.sentTo !== handle || p.dropped) return; // an exit already took it back (see #onExit)
    u.sentTo = undefined;
    p.inflight.splice(p.inflight.indexOf(u), 1);
    if (error instanceof ActorExitedError) {
      // Interrupted by a stop, or exited before its exit event was seen: not a failure of the batch.
      this.#countRedelivery(u);
      p.pending.unshift(u);
    } else if (this.#closing) {
      this.#countRedelivery(u); // shutting down: no try of the batch is used up
      p.pending.unshift(u);
    } else if (error instanceof Error && isEnvironmentFailure(error)) {
      // Memory or descriptors ran out: no try is used up, but the batch backs off as after a failure.
      const n = (u.environmentFailures ?? 0) + 1;
      u.environmentFailures = n;
      u.lastError = error;
      this.#countRedelivery(u);
      this.#retryLater(p, u, retryDelay(n, this.#backoff));
      p.pending.unshift(u);
    } else {
      u.attempts++;
      u.lastError = error;
      p.pending.unshift(...this.#afterFailure(p, u));
    }
    this.#pump(p.owner);
  }

  /**
   * What replaces a failed unit at the front of its partition's queue (see {@linkcode failureDecision}):
   * itself after a backoff, its two halves, or nothing once its single record went to the dead-letter topic.
   */
  #afterFailure(p: PartitionState, u: Unit): Unit[] {
    // The handler's own flag (docs/errors.md); a crash, hang or unflagged error is unknown: retried within budget.
    const retriable = u.lastError instanceof BatchFailedError ? u.lastError.retriable : undefined;
    const decision = failureDecision({ ...u, retriable }, {
      maxAttempts: this.#maxAttempts,
      backoff: this.#backoff,
    });
    switch (decision.action) {
      case "retry": {
        this.#stats.retries++;
        dispatcherRedeliveries().inc({ agent: this.agent, reason: "retry" });
        this.#retryLater(p, u, decision.delayMs);
        return [u];
      }
      case "dead_letter":
        this.#deadLetter(p, decision.record, "handler", handlerError(u.lastError), u.attempts);
        return [];
      case "split":
        this.#stats.splits++;
        return decision.parts.map(({ records, budget }): Unit => ({
          ...u,
          records,
          from: records[0]!.offset,
          to: records.at(-1)!.offset,
          budget,
          notBefore: 0,
          sentTo: undefined,
        }));
    }
  }

  /** Holds `u` back for `delayMs` (it waits at the head of its queue) and pumps when the delay is over. */
  #retryLater(p: PartitionState, u: Unit, delayMs: number): void {
    u.notBefore = Date.now() + delayMs;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#pump(p.owner);
    }, delayMs);
    this.#timers.add(t);
  }

  #onExit(inst: Instance, handle: ActorHandle, reason: ExitReason): void {
    if (inst.handle === handle) {
      inst.handle = undefined;
      for (const off of inst.off.splice(0)) off();
    }
    // The handle names the batch a crash is blamed on (the one its Worker was running; none when the
    // environment caused it). That batch may belong to a partition revoked since: then nobody here is blamed.
    const blamed = reason.kind === "crashed" && !this.#closing ? reason.batchId : undefined;
    for (const p of inst.partitions) {
      const units = p.inflight.filter((u) => u.sentTo === handle);
      if (units.length === 0) continue;
      p.inflight = p.inflight.filter((u) => u.sentTo !== handle);
      units.sort((a, b) => (BigInt(a.from) < BigInt(b.from) ? -1 : 1));
      const back: Unit[] = [];
      for (const u of units) {
        u.sentTo = undefined;
        this.#countRedelivery(u);
        if (blamed !== undefined && u.batchId === blamed && reason.kind === "crashed") {
          u.attempts++;
          u.lastError = reason.error;
          back.push(...this.#afterFailure(p, u));
        } else back.push(u);
      }
      p.pending.unshift(...back);
    }
    for (const p of inst.partitions) this.#flowControl(p);
  }

  #countRedelivery(u: Unit): void {
    this.#stats.redeliveredBatches++;
    this.#stats.redeliveredRecords += u.records.length;
    dispatcherRedeliveries().inc({ agent: this.agent, reason: "crash" });
  }

  /**
   * Writes a dead letter, then acks the record's offset. A retriable failure (the log is unreachable) is
   * retried with backoff for up to `deadLetterTimeoutMs`; past it, or at once for a failure retrying cannot
   * fix (missing topic, ACL denial, too large even truncated), the dispatcher fails ({@linkcode #fail}).
   * Meanwhile {@linkcode problem} names the failing dead letter, so readiness shows the stall.
   */
  #deadLetter(
    p: PartitionState,
    record: ConsumedRecord,
    stage: string,
    error: unknown,
    attempts: number,
  ): void {
    const work = (async () => {
      const started = Date.now();
      for (let attempt = 1; !p.dropped && !this.#failure; attempt++) {
        try {
          await sendToDeadLetter(this.#opts.connector, this.deadLetterTopic, {
            record,
            stage,
            error,
            agent: this.agent,
            attempts,
          });
          this.#stats.deadLetters++;
          this.#deadLetterStalls.delete(p.key);
          break;
        } catch (e) {
          dispatcherDeadLetterFailures().inc({ agent: this.agent, error_class: errorName(e) });
          log.error("dead letter to {topic} failed (attempt {attempt}): {error}", {
            topic: this.deadLetterTopic,
            attempt,
            error: String(e),
          });
          if (this.#closing && attempt >= 3) return;
          const source = { topic: record.topic, partition: record.partition, offset: record.offset };
          const failure = new DeadLetterFailedError(this.agent, this.deadLetterTopic, source, {
            cause: e,
            attempts: attempt,
          });
          if (!isRetriable(e) || Date.now() - started >= this.#deadLetterTimeoutMs) {
            return this.#fail(failure);
          }
          this.#deadLetterStalls.set(p.key, failure);
          await abortableSleep(backoffDelay(attempt, { initialMs: 100, maxMs: 5000, jitter: 0 }));
        }
      }
      if (p.dropped || this.#failure) return;
      p.tracker.ack(record.offset, record.offset);
      this.#commit(p);
      this.#pump(p.owner);
    })();
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work));
  }

  /**
   * Stops this consumer because its dead-letter path is broken: no batch is sent any more, batches in flight
   * may finish and what was acked is committed (never past the record that could not be dead-lettered), the
   * group is left, and the failure is reported — to `onFailed` listeners (its supervisor, through
   * `dispatcherChild`), to {@linkcode problem} (readiness), as `dispatcher_failed{agent} 1` and in the log.
   */
  #fail(failure: DeadLetterFailedError): void {
    if (this.#failure) return;
    this.#failure = failure;
    dispatcherFailed().set({ agent: this.agent }, 1);
    log.error("{agent} stops: {error}", { agent: this.agent, error: failure.message });
    for (const listener of this.#failedListeners.splice(0)) listener(failure);
    void this.close(FAILED_DRAIN_MS).catch((e) =>
      log.warn("closing the failed {agent}: {error}", { agent: this.agent, error: e })
    );
  }

  #commit(p: PartitionState): void {
    if (p.committing || p.dropped || !this.#sub || this.#closed) return;
    const offset = p.tracker.committable();
    if (offset === undefined || (p.committed !== null && BigInt(offset) <= BigInt(p.committed))) return;
    p.committing = true;
    this.#sub.commit(p.tp.topic, p.tp.partition, offset).then(
      () => {
        p.committing = false;
        if (p.dropped) return;
        p.committed = offset;
        this.#stats.commits++;
        if (this.#lastFailure) {
          this.#lastFailure = undefined;
          dispatcherFailed().set({ agent: this.agent }, 0);
        }
        dispatcherCommits().inc({ agent: this.agent, topic: p.tp.topic });
        this.#commit(p);
      },
      (error) => {
        log.warn("commit of {partition} at {offset} failed: {error}", {
          partition: p.key,
          offset,
          error: String(error),
        });
        const t = setTimeout(() => {
          this.#timers.delete(t);
          p.committing = false;
          this.#commit(p);
        }, 200);
        this.#timers.add(t);
      },
    );
  }

  #onRevoked(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.#partitions.get(tpKey(tp.topic, tp.partition));
      if (!p) continue;
      p.dropped = true;
      this.#clearWait(p);
      this.#stats.droppedOnRevoke += p.inflight.length + p.pending.length;
      p.inflight = [];
      p.pending = [];
      this.#partitions.delete(p.key);
      this.#decodeStalls.delete(p.key);
      this.#deadLetterStalls.delete(p.key);
      p.owner.partitions.delete(p);
    }
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name || "Error" : typeof error;
}

/** The handler's own error class and message for the dead letter's headers (not the main-thread wrapper). */
function handlerError(error: unknown): unknown {
  if (!(error instanceof BatchFailedError)) return error;
  const e = new Error(error.message, { cause: error });
  e.name = error.remoteName;
  return e;
}
