/**
 * An OTP-style supervisor.
 *
 * Principles (as in Erlang/OTP `supervisor`):
 * - Children start in the order of `children`; a child that fails to start fails the supervisor's start, and the
 *   children already started are stopped in reverse order.
 * - When a child exits, its `restart` type decides whether it is restarted (`permanent` always, `transient` after
 *   an abnormal exit, `temporary` never — and it is removed). The `strategy` decides which children restart with
 *   it; those still running are stopped first, in reverse start order, then all are started again in order.
 * - Restart intensity: more than `intensity` restarts within `periodMs` make the supervisor give up: it stops all
 *   its children in reverse order and exits with a {@linkcode SupervisorGaveUpError}. Its parent sees that as a
 *   child crash (escalation); the root calls `onGiveUp`.
 * - Restart backoff (not in OTP): before a restart the supervisor waits an exponential, jittered delay per child,
 *   reset after the child was up for `resetAfterMs`.
 * - Stopping stops the children in reverse order, each per its `shutdown`.
 * - An operator may stop one child and start it again ({@linkcode Supervisor.terminateChild},
 *   {@linkcode Supervisor.restartChild}, as OTP's `terminate_child`/`restart_child`); a terminated child stays in
 *   the tree as `stopped` and is not restarted by its strategy. `stopped` names children not started at all.
 *
 * Every exit, restart and give-up is published as a {@linkcode SupervisorEvent}.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Child, ChildSpec, ChildStartContext, ExitReason, Shutdown } from "./child_spec.ts";
import { shouldRestart } from "./child_spec.ts";
import type { RestartStrategy } from "./restart_strategy.ts";
import { oneForOne } from "./strategy_one_for_one.ts";
import { RestartIntensity } from "./restart_intensity.ts";
import { sleepOrAbort } from "../core/abortable_sleep.ts";
import { RestartBackoff, type RestartBackoffOptions } from "./restart_backoff.ts";
import { SUPERVISOR_DEFAULTS } from "./supervisor_defaults.ts";
import type { SupervisorEvent } from "./supervisor_event.ts";
import type { LastError, SupervisorNode, TreeNode } from "./tree_node.ts";
import { SupervisorGaveUpError } from "./supervisor_gave_up_error.ts";
import { actorRestarts } from "./actor_metrics.ts";
import { Emitter } from "./_emitter.ts";

/** Supervisor flags and children. Unset flags take {@linkcode SUPERVISOR_DEFAULTS}. */
export interface SupervisorOptions {
  id: string;
  children: ChildSpec[];
  /** Default one_for_one. */
  strategy?: RestartStrategy;
  /** Max restarts within `periodMs` (default 1). */
  intensity?: number;
  /** Sliding window in ms (default 5000). */
  periodMs?: number;
  /** Restart backoff (defaults: min 10 ms, max 10 s, jitter 0.2, reset after 30 s). */
  backoff?: Partial<RestartBackoffOptions>;
  /** Root only: called once when the root gives up (commit what was processed, then exit non-zero). */
  onGiveUp?: (reason: ExitReason) => void;
  /** Random source for backoff jitter (tests). */
  random?: () => number;
  /** Ids of children left stopped at start (as after {@linkcode Supervisor.terminateChild}). */
  stopped?: readonly string[];
}

interface Entry {
  spec: ChildSpec;
  child?: Child;
  restarts: number;
  backoff: RestartBackoff;
  startedAt: number;
  lastError?: LastError;
  status: "running" | "restarting" | "stopped";
  /** Stopped by an operator ({@linkcode Supervisor.terminateChild}): no strategy starts it again. */
  terminated?: boolean;
}

/** A running supervisor; it is itself a {@linkcode Child} of its parent. */
export class Supervisor implements Child {
  readonly id: string;
  readonly path: string;
  readonly strategy: RestartStrategy;
  readonly exited: Promise<ExitReason>;

  #opts: SupervisorOptions;
  #ctx: ChildStartContext | undefined;
  #entries: Entry[] = [];
  #intensity: RestartIntensity;
  #backoff: RestartBackoffOptions;
  #state: SupervisorNode["state"] = "starting";
  #ops: Promise<void> = Promise.resolve();
  #stopping = new AbortController();
  #resolveExit!: (r: ExitReason) => void;
  #exitReason: ExitReason | undefined;
  #events = new Emitter<{ event: SupervisorEvent }>();
  #lastError: LastError | undefined;
  #live = new Set<Child>();

  private constructor(opts: SupervisorOptions, ctx?: ChildStartContext) {
    if (new Set(opts.children.map((c) => c.id)).size !== opts.children.length) {
      throw new TypeError(`Cannot start supervisor ${opts.id}: child ids must be unique`);
    }
    this.id = opts.id;
    this.path = ctx?.path ?? opts.id;
    this.#opts = opts;
    this.#ctx = ctx;
    this.strategy = opts.strategy ?? oneForOne;
    this.#intensity = new RestartIntensity(
      opts.intensity ?? SUPERVISOR_DEFAULTS.intensity,
      opts.periodMs ?? SUPERVISOR_DEFAULTS.periodMs,
    );
    this.#backoff = { ...SUPERVISOR_DEFAULTS.backoff, ...opts.backoff };
    new RestartBackoff(this.#backoff); // validates
    this.exited = new Promise((r) => (this.#resolveExit = r));
  }

  /**
   * Starts a supervisor and its children, in order.
   *
   * @param opts Flags and child specs.
   * @param ctx Given by a parent supervisor; omitted for the root.
   * @returns The running supervisor.
   * @throws The first child start error, after stopping the children already started.
   * @example
   * ```ts
   * const root = await Supervisor.start({
   *   id: "root",
   *   strategy: restForOne,
   *   children: [actorChild({ id: "source", module: srcUrl }), actorChild({ id: "sink", module: sinkUrl })],
   *   onGiveUp: () => Deno.exit(1),
   * });
   * console.log(JSON.stringify(root.snapshot(), null, 2));
   * ```
   */
  static async start(opts: SupervisorOptions, ctx?: ChildStartContext): Promise<Supervisor> {
    const sup = new Supervisor(opts, ctx);
    for (const spec of opts.children) {
      const entry: Entry = {
        spec,
        restarts: 0,
        backoff: new RestartBackoff(sup.#backoff, opts.random),
        startedAt: 0,
        status: "stopped",
      };
      sup.#entries.push(entry);
      if (opts.stopped?.includes(spec.id)) {
        entry.terminated = true;
        continue;
      }
      try {
        await sup.#startEntry(entry);
      } catch (e) {
        await sup.#stopAll();
        sup.#state = "failed";
        sup.#exit({ kind: "crashed", reason: "start_failed", error: toError(e) });
        throw e;
      }
    }
    sup.#state = "running";
    return sup;
  }

  /**
   * Subscribes to the events of this supervisor and of everything below it.
   *
   * @returns A function that unsubscribes.
   */
  onEvent(listener: (e: SupervisorEvent) => void): () => void {
    return this.#events.on("event", listener);
  }

  /** The running child with this id, if any (a restart replaces it: look it up again after `child_started`). */
  child(id: string): Child | undefined {
    return this.#entries.find((e) => e.spec.id === id)?.child;
  }

  /** Child ids in start order. */
  childIds(): string[] {
    return this.#entries.map((e) => e.spec.id);
  }

  /**
   * Stops one child (per its `shutdown`) and keeps it stopped: its restart type and the strategy do not start
   * it again until {@linkcode restartChild}. A child already stopped is left as it is.
   *
   * @throws {RangeError} When no child has this id.
   */
  terminateChild(id: string): Promise<void> {
    const entry = this.#entry(id);
    return this.#serial(async () => {
      const c = entry.child;
      entry.child = undefined; // its exit is ours, not a failure
      entry.status = "stopped";
      entry.terminated = true;
      if (c) await this.#stopChild(entry, c);
    });
  }

  /**
   * Starts a child that {@linkcode terminateChild} stopped (or that `stopped` left stopped); a running child is
   * left as it is.
   *
   * @throws {RangeError} When no child has this id.
   * @throws The child's start error.
   */
  restartChild(id: string): Promise<void> {
    const entry = this.#entry(id);
    return this.#serial(async () => {
      if (entry.child || this.#stopping.signal.aborted) return;
      entry.terminated = false;
      await this.#startEntry(entry);
    });
  }

  #entry(id: string): Entry {
    const entry = this.#entries.find((e) => e.spec.id === id);
    if (!entry) throw new RangeError(`No child "${id}" in supervisor ${this.path}`);
    return entry;
  }

  /** Runs `op` after the supervisor's other operations (restarts), and reports its own outcome. */
  #serial(op: () => Promise<void>): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#enqueue(() => op().then(done.resolve, done.reject));
    return done.promise;
  }

  /** Current state. */
  get state(): SupervisorNode["state"] {
    return this.#state;
  }

  /**
   * Stops all children in reverse start order, each per its own `shutdown`, then exits with `shutdown`.
   *
   * @param shutdown This supervisor's own limit; when it passes, the children still running are killed.
   */
  async stop(shutdown: Shutdown = "infinity"): Promise<void> {
    if (this.#exitReason) return;
    this.#state = "stopping";
    this.#stopping.abort();
    const all = this.#stopAll();
    if (shutdown === "brutal_kill") {
      await this.#killAll();
    } else if (typeof shutdown === "number") {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), shutdown)));
      if (await Promise.race([all.then(() => "done" as const), timeout]) === "timeout") await this.#killAll();
      clearTimeout(timer);
    }
    await all;
    await this.#ops; // a restart in progress sees the abort and stops what it started
    this.#state = "stopped";
    this.#exit({ kind: "shutdown" });
  }

  /** The live tree below (and including) this supervisor. */
  snapshot(): SupervisorNode {
    return {
      type: "supervisor",
      id: this.id,
      path: this.path,
      state: this.#state,
      strategy: this.strategy.name,
      intensity: {
        max: this.#intensity.intensity,
        periodMs: this.#intensity.periodMs,
        recent: this.#intensity.recent(),
      },
      restarts: 0,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      children: this.#entries.map((e) => this.#nodeOf(e)),
    };
  }

  #nodeOf(e: Entry): TreeNode {
    const path = `${this.path}/${e.spec.id}`;
    if (!e.child) {
      return {
        type: "pending",
        id: e.spec.id,
        path,
        state: e.status === "restarting" ? "restarting" : "stopped",
        restarts: e.restarts,
        ...(e.lastError ? { lastError: e.lastError } : {}),
      };
    }
    const node = e.child.snapshot();
    const lastError = node.lastError ?? e.lastError;
    return { ...node, id: e.spec.id, restarts: e.restarts, ...(lastError ? { lastError } : {}) };
  }

  #emit(event: SupervisorEvent): void {
    this.#events.emit("event", event);
    this.#ctx?.emit(event);
  }

  async #startEntry(entry: Entry): Promise<void> {
    const path = `${this.path}/${entry.spec.id}`;
    let child: Child;
    try {
      child = await entry.spec.start({ path, emit: (e) => this.#emit(e) });
    } catch (e) {
      const error = toError(e);
      entry.lastError = toLastError("start_failed", error);
      entry.status = "stopped";
      this.#emit({ type: "child_start_failed", path, error });
      throw error;
    }
    if (this.#stopping.signal.aborted) {
      // stop() ran while this restart was starting the child: do not leave it orphaned.
      await child.stop(entry.spec.shutdown ?? SUPERVISOR_DEFAULTS.actorShutdownMs);
      return;
    }
    entry.child = child;
    entry.startedAt = performance.now();
    entry.status = "running";
    this.#emit({ type: "child_started", path, restarts: entry.restarts });
    this.#live.add(child);
    void child.exited.then((reason) => {
      this.#live.delete(child);
      this.#enqueue(() => this.#onExit(entry, child, reason));
    });
  }

  #enqueue(op: () => Promise<void>): void {
    this.#ops = this.#ops.then(op).catch((e) => {
      getLogger(["qistream", "supervisor"]).error("supervisor {path} operation failed: {error}", {
        path: this.path,
        error: e,
      });
    });
  }

  async #onExit(entry: Entry, child: Child, reason: ExitReason): Promise<void> {
    if (entry.child !== child || this.#exitReason || this.#stopping.signal.aborted) return;
    const path = `${this.path}/${entry.spec.id}`;
    entry.child = undefined;
    entry.status = "stopped";
    if (reason.kind === "crashed") {
      entry.lastError = toLastError(reason.reason, reason.error);
      this.#lastError = entry.lastError;
    }
    this.#emit({ type: "child_exited", path, reason });
    if (!shouldRestart(entry.spec.restart ?? SUPERVISOR_DEFAULTS.restart, reason)) {
      if ((entry.spec.restart ?? SUPERVISOR_DEFAULTS.restart) === "temporary") {
        this.#entries = this.#entries.filter((e) => e !== entry);
      }
      return;
    }
    const uptime = performance.now() - entry.startedAt;
    await this.#restart(entry, reason, uptime);
  }

  async #restart(failed: Entry, reason: ExitReason, uptime: number): Promise<void> {
    let lastReason = reason;
    for (;;) {
      if (!this.#intensity.record()) return this.#giveUp(lastReason);
      const ids = this.strategy.affected(this.childIds(), failed.spec.id);
      // A child an operator terminated stays out of its siblings' restarts.
      const affected = this.#entries.filter((e) => ids.includes(e.spec.id) && !e.terminated);
      this.#state = "restarting";
      for (const e of [...affected].reverse()) {
        const c = e.child;
        if (!c) continue;
        e.child = undefined; // its exit is ours, not a failure
        await this.#stopChild(e, c);
      }
      for (const e of affected) e.status = "restarting";
      const delayMs = failed.backoff.next(uptime);
      for (const e of affected) {
        this.#emit({
          type: "child_restarting",
          path: `${this.path}/${e.spec.id}`,
          delayMs,
          restarts: e.restarts + 1,
        });
      }
      if (!(await sleepOrAbort(delayMs, this.#stopping.signal))) return;
      try {
        for (const e of affected) {
          if (this.#stopping.signal.aborted) return;
          if (!this.#entries.includes(e)) continue;
          e.restarts++;
          actorRestarts().inc({ actor: `${this.path}/${e.spec.id}` });
          await this.#startEntry(e);
        }
        this.#state = "running";
        return;
      } catch (e) {
        // A failed restart counts as another failure of the same child: go round again (intensity decides).
        lastReason = { kind: "crashed", reason: "start_failed", error: toError(e) };
        uptime = 0;
      }
    }
  }

  async #giveUp(reason: ExitReason): Promise<void> {
    const error = new SupervisorGaveUpError(
      this.path,
      this.#intensity.intensity,
      this.#intensity.periodMs,
      reason.kind === "crashed" ? reason.error : undefined,
    );
    this.#emit({
      type: "intensity_exceeded",
      path: this.path,
      intensity: this.#intensity.intensity,
      periodMs: this.#intensity.periodMs,
    });
    this.#state = "stopping";
    this.#stopping.abort();
    await this.#stopAll();
    this.#state = "failed";
    this.#lastError = toLastError("reached_max_restart_intensity", error);
    const exit: ExitReason = { kind: "crashed", reason: "reached_max_restart_intensity", error };
    if (!this.#ctx) {
      this.#emit({ type: "gave_up", path: this.path, reason: exit });
      this.#opts.onGiveUp?.(exit);
    }
    this.#exit(exit);
  }

  async #stopAll(): Promise<void> {
    for (const e of [...this.#entries].reverse()) {
      const c = e.child;
      if (!c) continue;
      e.child = undefined;
      e.status = "stopped";
      await this.#stopChild(e, c);
    }
  }

  async #stopChild(e: Entry, c: Child): Promise<void> {
    await c.stop(e.spec.shutdown ?? SUPERVISOR_DEFAULTS.actorShutdownMs);
    this.#emit({ type: "child_exited", path: `${this.path}/${e.spec.id}`, reason: await c.exited });
  }

  async #killAll(): Promise<void> {
    await Promise.all([...this.#live].map((c) => c.stop("brutal_kill")));
  }

  #exit(reason: ExitReason): void {
    if (this.#exitReason) return;
    this.#exitReason = reason;
    this.#resolveExit(reason);
  }
}

/**
 * A child spec for a nested supervisor (shutdown `"infinity"`, as in OTP).
 *
 * @param opts The nested supervisor's options.
 * @param spec Restart type and shutdown overrides.
 * @returns The child spec.
 */
export function supervisorChild(
  opts: SupervisorOptions,
  spec: { restart?: ChildSpec["restart"]; shutdown?: Shutdown } = {},
): ChildSpec {
  return {
    id: opts.id,
    restart: spec.restart,
    shutdown: spec.shutdown ?? SUPERVISOR_DEFAULTS.supervisorShutdown,
    start: (ctx) => Supervisor.start(opts, ctx),
  };
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function toLastError(reason: string, e: Error): LastError {
  return { reason, name: e.name, message: e.message, at: new Date().toISOString() };
}
