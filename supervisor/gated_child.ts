/**
 * A child that runs only while a gate is open — a singleton agent runs on the one node that holds its lease and
 * waits as `standby` on every other. The gate says when; this child starts the inner child when it opens and stops
 * it (per its `shutdown`) when it closes, awaiting the stop so the gate's owner can hand over only afterwards.
 *
 * While open, the inner child's exit is this child's exit (its supervisor applies the restart type as usual);
 * while closed, the tree shows a {@linkcode StandbyNode} with the gate's reason. The supervisor knows nothing of
 * what the gate is.
 *
 * @module
 */
import type { Child, ChildSpec, ChildStartContext, ExitReason, Shutdown } from "./child_spec.ts";
import type { StandbyNode, TreeNode } from "./tree_node.ts";

/** When a gated child may run. */
export interface Gate {
  /** Whether the child may run now. */
  isOpen(): boolean;
  /** Why it may not, for the tree (e.g. `another node holds the singleton lease`). */
  closedReason(): string;
  /**
   * Adds a listener called after each change; a returned promise is awaited by the gate before it lets another
   * holder in (a clean handover). Returns a function that removes it.
   */
  onChange(listener: () => Promise<void> | void): () => void;
}

/**
 * Wraps a child spec so the child runs only while `gate` is open.
 *
 * @param inner the child to run (e.g. an agent's supervisor)
 * @param gate when it may run
 * @returns a child spec with the inner child's id, restart type and shutdown
 * @example
 * ```ts
 * const replay = gatedChild(supervisorChild({ id: "replay", children: [...] }), lease);
 * ```
 */
export function gatedChild(inner: ChildSpec, gate: Gate): ChildSpec {
  return {
    id: inner.id,
    restart: inner.restart,
    shutdown: inner.shutdown,
    start: (ctx) => GatedChild.start(inner, gate, ctx),
  };
}

class GatedChild implements Child {
  readonly exited: Promise<ExitReason>;
  readonly #spec: ChildSpec;
  readonly #gate: Gate;
  readonly #ctx: ChildStartContext;
  #inner: Child | undefined;
  #ops: Promise<void> = Promise.resolve();
  #done = false;
  #standbySince = Date.now();
  #handovers = 0;
  #resolveExit!: (r: ExitReason) => void;
  #unsubscribe: () => void = () => {};

  private constructor(spec: ChildSpec, gate: Gate, ctx: ChildStartContext) {
    this.#spec = spec;
    this.#gate = gate;
    this.#ctx = ctx;
    this.exited = new Promise((r) => (this.#resolveExit = r));
  }

  static async start(spec: ChildSpec, gate: Gate, ctx: ChildStartContext): Promise<GatedChild> {
    const child = new GatedChild(spec, gate, ctx);
    child.#unsubscribe = gate.onChange(() => child.#reconcile());
    if (gate.isOpen()) {
      const first = (async () => {
        child.#inner = child.#watch(await spec.start(ctx));
      })();
      child.#ops = first.catch(() => {});
      try {
        await first; // a start failure fails this start
      } catch (error) {
        child.#unsubscribe();
        throw error;
      }
    }
    return child;
  }

  stop(shutdown: Shutdown): Promise<void> {
    this.#unsubscribe();
    const stopping = this.#ops.then(async () => {
      const inner = this.#inner;
      this.#inner = undefined;
      await inner?.stop(shutdown);
      this.#finish({ kind: "shutdown" });
    });
    this.#ops = stopping;
    return stopping;
  }

  snapshot(): TreeNode {
    if (this.#inner) return this.#inner.snapshot();
    const node: StandbyNode = {
      type: "standby",
      id: this.#spec.id,
      path: this.#ctx.path,
      state: "standby",
      reason: this.#gate.closedReason(),
      restarts: 0,
      since: new Date(this.#standbySince).toISOString(),
      handovers: this.#handovers,
    };
    return node;
  }

  #reconcile(): Promise<void> {
    const op = this.#ops.then(() => this.#apply());
    this.#ops = op;
    return op;
  }

  async #apply(): Promise<void> {
    if (this.#done) return;
    const open = this.#gate.isOpen();
    if (open && !this.#inner) {
      this.#handovers++;
      try {
        this.#inner = this.#watch(await this.#spec.start(this.#ctx));
      } catch (error) {
        this.#finish({ kind: "crashed", reason: "start_failed", error: toError(error) });
      }
    } else if (!open && this.#inner) {
      const inner = this.#inner;
      this.#inner = undefined; // its exit is ours to cause, not a crash to report
      await inner.stop(this.#spec.shutdown ?? "infinity");
      this.#standbySince = Date.now();
    }
  }

  #watch(child: Child): Child {
    void child.exited.then((reason) => {
      if (this.#inner === child) {
        this.#inner = undefined;
        this.#finish(reason);
      }
    });
    return child;
  }

  #finish(reason: ExitReason): void {
    if (this.#done) return;
    this.#done = true;
    this.#unsubscribe();
    this.#resolveExit(reason);
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
