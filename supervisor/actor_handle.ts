/**
 * The main-thread handle of one actor: a Deno Worker running one agent module, with a bounded mailbox.
 *
 * Credit window: at most `creditWindow` batches are posted to the Worker and unacked at any time. Further `send`s
 * wait in the handle's queue (at most `mailboxCapacity`, then `MailboxFullError`); a dispatcher reads `hasCredit()`
 * and the `credit` event to pause and resume its source, so memory stays bounded under any load.
 *
 * Each `send` settles exactly once: resolved on ack, rejected with `BatchFailedError` when the handler failed, or
 * with `ActorExitedError` (carrying the batch, for redelivery) when the actor stopped or crashed first. A failure
 * while the actor is stopping is an interruption, not the batch's failure: `ActorExitedError` too.
 *
 * Hung actors: a batch that does not settle within `batchDeadlineMs` of reaching the head of the Worker's queue
 * crashes the actor (`batch_timeout`), and an idle Worker that answers no ping for `heartbeat.timeoutMs` (it
 * ended itself, e.g. `self.close()`) crashes it too (`heartbeat_timeout`). A crash names the batch it is blamed
 * on (`ExitReason.batchId`): the one the Worker was running, unless the environment caused it
 * ({@linkcode isEnvironmentFailure}) or the actor was stopping.
 *
 * @module
 */
import { getLogger as getLogTapeLogger } from "@logtape/logtape";
import type { AgentBatch } from "../actors/runtime/agent_batch.ts";
import {
  type AgentPermissions,
  type AgentSpec,
  assertAgentModule,
  specPermissions,
} from "../actors/runtime/agent_spec.ts";
import type {
  FromWorker,
  MetricSample,
  SerializedError,
  ToWorker,
} from "../actors/runtime/actor_protocol.ts";
import { serializeError } from "../actors/runtime/actor_protocol.ts";
import type { PublishedRecord } from "../connector/types.ts";
import type { AgentRecord } from "../actors/runtime/agent_record.ts";
import type { Child, ExitReason, Shutdown } from "./child_spec.ts";
import type { SupervisorEvent } from "./supervisor_event.ts";
import type { ActorNode, LastError } from "./tree_node.ts";
import { SUPERVISOR_DEFAULTS } from "./supervisor_defaults.ts";
import { mergePermissions, type WorkerPermissions, workerPermissions } from "./actor_permissions.ts";
import { ActorExitedError } from "./actor_exited_error.ts";
import { ActorCrashError } from "./actor_crash_error.ts";
import { BatchFailedError } from "./batch_failed_error.ts";
import { MailboxFullError } from "./mailbox_full_error.ts";
import {
  actorBatchDuration,
  actorFailures,
  actorInflight,
  actorMailboxDepth,
  recordAgentMetrics,
} from "./actor_metrics.ts";
import { Emitter } from "./_emitter.ts";
import { progressLine, ProgressMeter } from "../core/task_progress.ts";
import { isEnvironmentFailure } from "./crash_blame.ts";
import { integerAtLeast } from "../core/integer_at_least.ts";

/** How often a long task's progress is logged (besides its end). */
const TASK_LOG_EVERY_MS = 5000;
const RUNTIME_URL = new URL("../actors/runtime/worker_runtime.ts", import.meta.url).href;

/** Publishes records for an actor; resolves when the log acknowledged them. */
export type PublishFn = (
  topic: string,
  records: AgentRecord[],
  from: { actor: string; agent: string },
) => Promise<PublishedRecord[]>;

/** Options of {@linkcode ActorHandle.start}. */
export interface ActorHandleOptions {
  /** Path of the actor in the tree (also its id in logs and metrics). */
  path: string;
  /** URL of the agent module. */
  module: URL | string;
  /** Raw config; validated in the Worker by the spec's schema. */
  config?: unknown;
  /** Max unacked batches posted to the Worker (default 4). */
  creditWindow?: number;
  /** Max batches queued in the handle beyond the window (default 64). */
  mailboxCapacity?: number;
  /** Time allowed to load and initialise (default 10 s). */
  startTimeoutMs?: number;
  /** The agent's id in the pipeline (the `agent` label of metrics and the tree); default the spec's name. */
  agent?: string;
  /** Permissions granted beyond the spec's own (from the pipeline file); the Worker gets the union. */
  grants?: AgentPermissions;
  /** Backs `ctx.publish`; without it publishing fails. */
  publish?: PublishFn;
  /**
   * Where a source's position is kept (`ctx.sourceOffset`): loaded before the Worker starts, saved when the Worker
   * commits one. A stop waits for the last save, as it waits for publishes.
   */
  sourceOffsets?: { load(): Promise<unknown>; save(position: unknown): Promise<void> };
  /** The Worker's end of the tool channel; transferred to the Worker. */
  toolPort?: MessagePort;
  /** Where to publish tree events. */
  emit?: (event: SupervisorEvent) => void;
  /** Treat a failed batch as a crash (Proto.Actor "restart" directive) instead of failing only the batch. */
  crashOnBatchFailure?: boolean;
  /**
   * Longest a batch may run, from when the Worker can start it (default 60 s); past it the actor crashes with
   * reason `batch_timeout`, blamed on that batch.
   */
  batchDeadlineMs?: number;
  /** Ping period and longest silence of an idle Worker (default 2 s, 10 s); past it: `heartbeat_timeout`. */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
}

/** Events of an actor handle. */
export interface ActorEvents {
  ack: { batchId: string; durationMs: number };
  fail: { batchId: string; error: BatchFailedError };
  /** Credit became available after the window was full. */
  credit: Record<never, never>;
  exit: ExitReason;
}

interface Pending {
  batch: AgentBatch;
  resolve(): void;
  reject(e: Error): void;
}

/** One actor incarnation. Start it with {@linkcode ActorHandle.start}; a restart is a new handle. */
export class ActorHandle implements Child {
  readonly path: string;
  readonly spec: AgentSpec;
  /** The agent this actor is an instance of, as the pipeline names it. */
  readonly agent: string;
  readonly permissions: WorkerPermissions;
  readonly creditWindow: number;
  readonly mailboxCapacity: number;
  /** Resolves when the actor has exited. */
  readonly exited: Promise<ExitReason>;

  #worker: Worker;
  #opts: ActorHandleOptions;
  #state: ActorNode["state"] = "starting";
  #inflight = new Map<string, Pending>();
  #queue: Pending[] = [];
  #events = new Emitter<ActorEvents>();
  #resolveExit!: (r: ExitReason) => void;
  #exitReason: ExitReason | undefined;
  #rpc = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextRpc = 0;
  #processed = 0;
  #tasks = new ProgressMeter();
  /** When each task's progress was last logged. */
  #taskLoggedAt = new Map<string, number>();
  #failed = 0;
  #startedAt = new Date();
  #lastError: LastError | undefined;
  #ready: { resolve(): void; reject(e: Error): void } | undefined;
  #stopRequested = false;
  /** Publishes the Worker asked for that the log has not answered yet. */
  #publishing = new Set<Promise<void>>();
  #offsetSaves: Promise<void> = Promise.resolve();
  /** Index 0: system messages posted so far; shared with the Worker so none is overtaken by a batch. */
  #control = new Int32Array(new SharedArrayBuffer(4));
  readonly #deadlineMs: number;
  readonly #heartbeat: { intervalMs: number; timeoutMs: number };
  /** The deadline of the batch at the head of the Worker's queue, and which batch that is. */
  #deadline: { batchId: string; timer: ReturnType<typeof setTimeout>; since: number } | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /** When the Worker last sent anything. */
  #heardAt = performance.now();
  #pinging = false;

  private constructor(opts: ActorHandleOptions, spec: AgentSpec) {
    this.path = opts.path;
    this.spec = spec;
    this.#opts = opts;
    this.creditWindow = integerAtLeast(
      "start actor",
      "creditWindow",
      opts.creditWindow ?? SUPERVISOR_DEFAULTS.creditWindow,
    );
    this.mailboxCapacity = integerAtLeast(
      "start actor",
      "mailboxCapacity",
      opts.mailboxCapacity ?? SUPERVISOR_DEFAULTS.mailboxCapacity,
      0,
    );
    this.agent = opts.agent ?? spec.name;
    this.#deadlineMs = integerAtLeast(
      "start actor",
      "batchDeadlineMs",
      opts.batchDeadlineMs ?? SUPERVISOR_DEFAULTS.batchDeadlineMs,
    );
    this.#heartbeat = {
      intervalMs: integerAtLeast(
        "start actor",
        "heartbeat.intervalMs",
        opts.heartbeat?.intervalMs ?? SUPERVISOR_DEFAULTS.heartbeat.intervalMs,
      ),
      timeoutMs: integerAtLeast(
        "start actor",
        "heartbeat.timeoutMs",
        opts.heartbeat?.timeoutMs ?? SUPERVISOR_DEFAULTS.heartbeat.timeoutMs,
      ),
    };
    this.permissions = workerPermissions(mergePermissions(ownPermissions(spec, opts.config), opts.grants));
    this.exited = new Promise((r) => (this.#resolveExit = r));
    const moduleUrl = new URL(opts.module).href;
    const bootstrap = `import { serveAgent } from ${JSON.stringify(RUNTIME_URL)};\n` +
      `import * as agent from ${JSON.stringify(moduleUrl)};\nserveAgent(agent);\n`;
    this.#worker = new Worker(`data:application/javascript,${encodeURIComponent(bootstrap)}`, {
      type: "module",
      name: opts.path,
      deno: { permissions: this.permissions as Deno.PermissionOptionsObject },
    });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(e.data);
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#crash("worker_error", { name: "Error", message: e.message });
    };
    this.#worker.onmessageerror = () => {
      this.#crash("worker_error", {
        name: "DataCloneError",
        message: "a message from the Worker could not be read",
      });
    };
  }

  /**
   * Loads the agent module's spec, starts its Worker with exactly the spec's permissions and waits for `ready`.
   *
   * @param opts Handle options.
   * @returns The running actor.
   * @throws {TypeError} When the module does not honour the agent contract.
   * @throws {ActorCrashError} When the Worker fails to start (reason `start_failed`, e.g. an invalid config, or
   *   `start_timeout`).
   * @example
   * ```ts
   * const echo = await ActorHandle.start({ path: "root/echo", module: new URL("./echo.ts", import.meta.url) });
   * await echo.send({ id: "b1", records: [] });
   * await echo.stop(1000);
   * ```
   */
  static async start(opts: ActorHandleOptions): Promise<ActorHandle> {
    const mod = assertAgentModule(await import(new URL(opts.module).href));
    const stored = await opts.sourceOffsets?.load();
    const handle = new ActorHandle(opts, mod.spec);
    await handle.#init(stored);
    return handle;
  }

  #init(sourceOffset: unknown): Promise<void> {
    const timeoutMs = this.#opts.startTimeoutMs ?? SUPERVISOR_DEFAULTS.startTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#crash("start_timeout", { name: "TimeoutError", message: `not ready within ${timeoutMs} ms` });
      }, timeoutMs);
      this.#ready = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const init: ToWorker = {
        type: "init",
        actorId: this.path,
        config: this.#opts.config ?? {},
        control: this.#control.buffer as SharedArrayBuffer,
        toolPort: this.#opts.toolPort,
        ...(sourceOffset === undefined ? {} : { sourceOffset }),
      };
      this.#worker.postMessage(init, this.#opts.toolPort ? [this.#opts.toolPort] : []);
    });
  }

  /** True while another `send` would be posted to the Worker at once. */
  hasCredit(): boolean {
    return this.#state === "running" && this.#inflight.size + this.#queue.length < this.creditWindow;
  }

  /** Batches posted and unacked. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Batches waiting in the handle for credit. */
  get mailboxDepth(): number {
    return this.#queue.length;
  }

  /** Current lifecycle state. */
  get state(): ActorNode["state"] {
    return this.#state;
  }

  /**
   * Subscribes to an event.
   *
   * @returns A function that unsubscribes.
   */
  on<K extends keyof ActorEvents>(type: K, listener: (e: ActorEvents[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  /**
   * Sends a batch. Posted at once within the credit window, otherwise queued.
   *
   * @param batch The batch; its `id` must be unique among this actor's unsettled batches.
   * @returns Resolves when the agent acked the batch.
   * @throws {TypeError} When the id is already pending.
   * @throws {BatchFailedError} When the handler failed the batch.
   * @throws {ActorExitedError} When the actor exited before acking it.
   * @throws {MailboxFullError} When the queue is at capacity.
   */
  send(batch: AgentBatch): Promise<void> {
    if (this.#inflight.has(batch.id) || this.#queue.some((p) => p.batch.id === batch.id)) {
      return Promise.reject(
        new TypeError(`Cannot send batch: id ${batch.id} is already pending on ${this.path}`),
      );
    }
    if (this.#state !== "running") {
      return Promise.reject(new ActorExitedError(this.path, batch, this.#state));
    }
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { batch, resolve, reject };
      if (this.#inflight.size < this.creditWindow) this.#post(p);
      else if (this.#queue.length >= this.mailboxCapacity) {
        reject(new MailboxFullError(this.path, this.mailboxCapacity));
      } else this.#queue.push(p);
      this.#gauges();
    });
  }

  /**
   * A system message that overtakes queued batches.
   *
   * @returns How many batches the Worker had started and how many were queued in it when it answered.
   */
  ping(): Promise<{ batchesStarted: number; queued: number }> {
    return this.#call((id) => ({ type: "ping", id })) as Promise<{ batchesStarted: number; queued: number }>;
  }

  /**
   * Replaces the agent's config (validated by its schema; the agent's `configure` hook runs) before the next batch.
   *
   * @throws {ActorCrashError} When the Worker rejected the config (reason `config_rejected`).
   */
  async configure(config: unknown): Promise<void> {
    await this.#call((id) => ({ type: "config", id, config }));
  }

  /**
   * Stops the actor: queued batches are rejected at once, the Worker's `signal` is aborted and it finishes its
   * current batch; after `shutdown` ms (or at once for `"brutal_kill"`) the Worker is terminated.
   *
   * @param shutdown Grace period.
   */
  async stop(shutdown: Shutdown = SUPERVISOR_DEFAULTS.actorShutdownMs): Promise<void> {
    if (this.#exitReason) return;
    if (shutdown === "brutal_kill") return this.kill();
    this.#stopRequested = true;
    this.#state = "stopping";
    for (const p of this.#queue.splice(0)) p.reject(new ActorExitedError(this.path, p.batch, "stopping"));
    this.#gauges();
    this.#postSystem({ type: "stop" });
    if (shutdown === "infinity") {
      await this.exited;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), shutdown)));
    const outcome = await Promise.race([this.exited, timedOut]);
    if (outcome === "timeout") this.kill();
    // What it published before it stopped is in the log (or failed) before the stop returns, so the consumers
    // stopped after it drain it; within the same grace period.
    await Promise.race([Promise.allSettled([...this.#publishing]), timedOut]);
    clearTimeout(timer);
  }

  /** Terminates the Worker at once (`brutal_kill`). */
  kill(): void {
    if (this.#exitReason) return;
    this.#worker.terminate();
    this.#finish({ kind: "killed" }, "killed");
  }

  /** The actor's live state. */
  snapshot(): ActorNode {
    return {
      type: "actor",
      id: this.path.split("/").at(-1) ?? this.path,
      path: this.path,
      agent: this.agent,
      state: this.#state,
      restarts: 0,
      mailboxDepth: this.#queue.length,
      inflight: this.#inflight.size,
      creditWindow: this.creditWindow,
      batchDeadlineMs: this.#deadlineMs,
      ...(this.#deadline ? { sinceProgressMs: Math.round(performance.now() - this.#deadline.since) } : {}),
      processed: this.#processed,
      failed: this.#failed,
      ...(this.#tasks.tasks().length > 0 ? { tasks: this.#tasks.tasks() } : {}),
      startedAt: this.#startedAt.toISOString(),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      permissions: { ...this.permissions },
    };
  }

  #post(p: Pending): void {
    this.#inflight.set(p.batch.id, p);
    this.#worker.postMessage({ type: "batch", batch: p.batch } satisfies ToWorker);
    this.#armDeadline();
  }

  /**
   * Keeps one timer, for the batch at the head of the Worker's queue: batches run one at a time in the order
   * posted, so the head is the one running (or about to run). Its deadline counts from when it became head, and
   * again from each sign of progress (`restart`: a tool call or a publish settled).
   */
  #armDeadline(restart = false): void {
    const head = this.#inflight.keys().next().value;
    if (head === this.#deadline?.batchId && !restart) return;
    clearTimeout(this.#deadline?.timer);
    this.#deadline = undefined;
    if (head === undefined) return;
    const timer = setTimeout(() => {
      this.#crash("batch_timeout", {
        name: "BatchTimeoutError",
        message: `batch ${head} made no progress and did not settle within ${this.#deadlineMs} ms`,
      });
    }, this.#deadlineMs);
    this.#deadline = { batchId: head, timer, since: performance.now() };
  }

  /** One heartbeat: an idle Worker silent for longer than the timeout has ended; otherwise ping it. */
  #beat(): void {
    if (this.#state !== "running") return;
    const silentMs = performance.now() - this.#heardAt;
    if (this.#inflight.size === 0 && silentMs > this.#heartbeat.timeoutMs) {
      this.#crash(
        "heartbeat_timeout",
        {
          name: "HeartbeatTimeoutError",
          message: `the Worker answered nothing for ${Math.round(silentMs)} ms`,
        },
        true,
        false,
      );
      return;
    }
    if (this.#pinging) return;
    this.#pinging = true;
    this.#postSystem({ type: "ping", id: 0 });
  }

  #postSystem(m: ToWorker): void {
    Atomics.add(this.#control, 0, 1); // before posting: the Worker must never see the post without the count
    this.#worker.postMessage(m);
  }

  #call(make: (id: number) => ToWorker): Promise<unknown> {
    if (this.#state !== "running") {
      return Promise.reject(
        new ActorCrashError(this.path, "not_running", { name: "Error", message: this.#state }),
      );
    }
    const id = ++this.#nextRpc;
    return new Promise((resolve, reject) => {
      this.#rpc.set(id, { resolve, reject });
      this.#postSystem(make(id));
    });
  }

  #settle(batchId: string): Pending | undefined {
    const p = this.#inflight.get(batchId);
    if (!p) return undefined;
    const hadCredit = this.hasCredit();
    this.#inflight.delete(batchId);
    while (this.#inflight.size < this.creditWindow && this.#queue.length > 0) {
      this.#post(this.#queue.shift()!);
    }
    this.#armDeadline();
    this.#gauges();
    if (!hadCredit && this.hasCredit()) this.#events.emit("credit", {});
    return p;
  }

  #onMessage(m: FromWorker): void {
    const labels = { actor: this.path, agent: this.agent };
    this.#heardAt = performance.now();
    switch (m.type) {
      case "ready":
        this.#state = "running";
        this.#startedAt = new Date();
        this.#heartbeatTimer = setInterval(() => this.#beat(), this.#heartbeat.intervalMs);
        this.#ready?.resolve();
        this.#ready = undefined;
        return;
      case "init_failed":
        this.#crash("start_failed", m.error, false);
        return;
      case "ack": {
        this.#metrics(m.metrics);
        actorBatchDuration().observe(labels, m.durationMs / 1000);
        const p = this.#settle(m.batchId);
        if (!p) return;
        this.#processed++;
        p.resolve();
        this.#events.emit("ack", { batchId: m.batchId, durationMs: m.durationMs });
        return;
      }
      case "fail": {
        this.#metrics(m.metrics);
        actorBatchDuration().observe(labels, m.durationMs / 1000);
        const error = new BatchFailedError(this.path, m.batchId, m.error);
        if (this.#stopRequested) {
          // The stop aborted its signal: an interruption, not the batch's failure. Redeliver it as it is.
          const p = this.#settle(m.batchId);
          p?.reject(new ActorExitedError(this.path, p.batch, "stopping", { cause: error }));
          return;
        }
        actorFailures().inc({ actor: this.path, reason: "batch_failed" });
        this.#failed++;
        this.#lastError = lastError("batch_failed", m.error);
        this.#opts.emit?.({ type: "batch_failed", path: this.path, batchId: m.batchId, error });
        const p = this.#settle(m.batchId);
        p?.reject(error);
        this.#events.emit("fail", { batchId: m.batchId, error });
        if (this.#opts.crashOnBatchFailure) this.#crash("batch_failed", m.error);
        return;
      }
      case "pong":
        if (m.id === 0) this.#pinging = false; // a heartbeat
        this.#rpc.get(m.id)?.resolve({ batchesStarted: m.batchesStarted, queued: m.queued });
        this.#rpc.delete(m.id);
        return;
      case "config_result": {
        const r = this.#rpc.get(m.id);
        this.#rpc.delete(m.id);
        if (m.error) r?.reject(new ActorCrashError(this.path, "config_rejected", m.error, false));
        else r?.resolve(undefined);
        return;
      }
      case "publish":
        {
          const publishing = this.#publish(m.id, m.topic, m.records);
          this.#publishing.add(publishing);
          void publishing.finally(() => this.#publishing.delete(publishing));
        }
        return;
      case "offset":
        this.#saveOffset(m.position);
        return;
      case "metrics":
        this.#metrics(m.metrics);
        return;
      case "task_progress": {
        // The terminal (the node's log) sees a long task every few seconds and when it ends.
        const p = this.#tasks.report(m.task, m.done, m.total, m.finished);
        const now = Date.now();
        if (m.finished || now - (this.#taskLoggedAt.get(m.task) ?? 0) >= TASK_LOG_EVERY_MS) {
          this.#taskLoggedAt.set(m.task, now);
          getLogTapeLogger(["qistream", "progress"]).info("{actor}: {line}", {
            actor: this.path,
            line: progressLine(p),
            ...p,
          });
        }
        return;
      }
      case "progress":
        if (m.batchId === this.#deadline?.batchId) this.#armDeadline(true);
        return;
      case "log": {
        const { category, level, message, timestamp, properties } = m.record;
        getLogTapeLogger(category).emit({
          level,
          message: [message],
          rawMessage: message,
          timestamp,
          properties,
        });
        return;
      }
      case "crash":
        this.#crash(m.reason, m.error);
        return;
      case "stopped":
        this.#worker.terminate();
        this.#finish(
          { kind: m.reason === "normal" && !this.#stopRequested ? "normal" : "shutdown" },
          m.reason,
        );
        return;
    }
  }

  /** Saves in commit order: each save starts after the previous one settled; a stop waits for the last. */
  #saveOffset(position: unknown): void {
    const store = this.#opts.sourceOffsets;
    if (!store) return;
    const saving = this.#offsetSaves.then(() => store.save(position)).catch((error) => {
      getLogTapeLogger(["qistream", "supervisor"]).warn("{actor}: saving the source offset failed: {error}", {
        actor: this.path,
        error: String(error),
      });
    });
    this.#offsetSaves = saving;
    this.#publishing.add(saving);
    void saving.finally(() => this.#publishing.delete(saving));
  }

  async #publish(id: number, topic: string, records: AgentRecord[]): Promise<void> {
    let reply: ToWorker;
    try {
      if (!this.#opts.publish) throw new Error("no publisher is wired to this actor");
      // A source's next batch waits until the position before it is saved: after a kill, what is published
      // but not covered by the saved position is at most the batches in flight (the source's maxInFlight).
      if (this.#opts.sourceOffsets) await this.#offsetSaves;
      const result = await this.#opts.publish(topic, records, { actor: this.path, agent: this.agent });
      if (!this.#exitReason) this.#armDeadline(true); // a settled publish is progress of the running batch
      reply = { type: "publish_result", id, ok: true, result };
    } catch (e) {
      reply = { type: "publish_result", id, ok: false, error: serializeError(e) };
    }
    if (!this.#exitReason) this.#worker.postMessage(reply);
  }

  #metrics(samples: readonly MetricSample[]): void {
    if (samples.length === 0) return;
    const errors = recordAgentMetrics(samples, { agent: this.agent, actor: this.path });
    for (const e of errors) {
      getLogTapeLogger(["qistream", "supervisor"]).warn(`dropped agent metric: ${e.message}`);
    }
  }

  /**
   * Terminates the Worker and exits with `crashed`. Unless `blame` is false, the environment caused the crash
   * or the actor was stopping, the crash is blamed on the batch the Worker was running (the head of its queue).
   */
  #crash(reason: string, remote: SerializedError, retriable = true, blame = true): void {
    if (this.#exitReason) return;
    this.#worker.terminate();
    actorFailures().inc({ actor: this.path, reason });
    const error = new ActorCrashError(this.path, reason, remote, retriable);
    this.#lastError = lastError(reason, remote);
    this.#ready?.reject(error);
    this.#ready = undefined;
    const batchId = blame && !this.#stopRequested && !isEnvironmentFailure(remote)
      ? this.#inflight.keys().next().value
      : undefined;
    this.#finish({ kind: "crashed", reason, error, ...(batchId === undefined ? {} : { batchId }) }, reason);
  }

  #finish(reason: ExitReason, why: string): void {
    if (this.#exitReason) return;
    this.#exitReason = reason;
    clearTimeout(this.#deadline?.timer);
    this.#deadline = undefined;
    clearInterval(this.#heartbeatTimer);
    this.#state = reason.kind === "crashed" || reason.kind === "killed" ? "crashed" : "stopped";
    const cause = reason.kind === "crashed" ? reason.error : undefined;
    const pending = [...this.#inflight.values(), ...this.#queue.splice(0)];
    this.#inflight.clear();
    for (const p of pending) p.reject(new ActorExitedError(this.path, p.batch, why, { cause }));
    for (const r of this.#rpc.values()) {
      r.reject(new ActorCrashError(this.path, why, { name: "Error", message: "exited" }));
    }
    this.#rpc.clear();
    this.#opts.toolPort?.close();
    this.#gauges();
    this.#resolveExit(reason);
    this.#events.emit("exit", reason);
  }

  #gauges(): void {
    actorInflight().set({ actor: this.path }, this.#inflight.size);
    actorMailboxDepth().set({ actor: this.path }, this.#queue.length);
  }
}

function lastError(reason: string, e: SerializedError): LastError {
  return { reason, name: e.name, message: e.message, at: new Date().toISOString() };
}

/** The spec's permissions for the config; none when the config is invalid (the Worker then refuses to start). */
function ownPermissions(spec: AgentSpec, config: unknown): AgentPermissions {
  try {
    return specPermissions(spec, config);
  } catch {
    return {};
  }
}
