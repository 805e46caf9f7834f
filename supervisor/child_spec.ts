/**
 * Child specifications and the contract every supervised child (actor or supervisor) honours.
 *
 * As in OTP: a child is started by `start`, is restarted according to `restart`, and is stopped according to
 * `shutdown` — given that many milliseconds to stop cleanly and then killed, killed at once (`"brutal_kill"`), or
 * waited for without limit (`"infinity"`, the default for supervisors).
 *
 * @module
 */
import type { SupervisorEvent } from "./supervisor_event.ts";
import type { TreeNode } from "./tree_node.ts";

/** `permanent`: always restarted; `transient`: restarted only after an abnormal exit; `temporary`: never. */
export type RestartType = "permanent" | "transient" | "temporary";

/** Milliseconds to wait for a clean stop before killing, `"brutal_kill"`, or `"infinity"`. */
export type Shutdown = number | "brutal_kill" | "infinity";

/** Why a child exited. `normal` and `shutdown` are normal exits; `crashed` and `killed` are abnormal. */
export type ExitReason =
  | { kind: "normal" }
  | { kind: "shutdown" }
  | { kind: "killed" }
  | {
    kind: "crashed";
    reason: string;
    error: Error;
    /** The batch the crash is blamed on: the one the Worker was running, unless the environment caused it. */
    batchId?: string;
  };

/** What `start` receives: where the child sits in the tree and where to send events. */
export interface ChildStartContext {
  /** Slash-separated path of the child, e.g. `root/agents/sink-0`. */
  path: string;
  /** Publishes an event through the tree's event stream. */
  emit(event: SupervisorEvent): void;
}

/** A running child, as its supervisor sees it. */
export interface Child {
  /** Resolves once, when the child has exited for any reason. */
  readonly exited: Promise<ExitReason>;
  /**
   * Stops the child per `shutdown`; resolves when it has exited. Never rejects.
   *
   * @param shutdown How long to wait before killing.
   */
  stop(shutdown: Shutdown): Promise<void>;
  /** The child's live state for introspection. */
  snapshot(): TreeNode;
}

/** How to start and supervise one child. */
export interface ChildSpec {
  /** Unique among its siblings. */
  id: string;
  /** Starts the child; a rejection is a start failure. */
  start(ctx: ChildStartContext): Promise<Child>;
  /** Default `permanent`. */
  restart?: RestartType;
  /** Default 5000 ms for actors, `"infinity"` for supervisors (set by the helpers that build the spec). */
  shutdown?: Shutdown;
}

/**
 * Whether a child with `restart` that exited with `reason` is to be restarted.
 *
 * @param restart The child's restart type.
 * @param reason Its exit reason.
 * @returns true when the supervisor restarts it.
 */
export function shouldRestart(restart: RestartType, reason: ExitReason): boolean {
  if (restart === "permanent") return true;
  if (restart === "temporary") return false;
  return reason.kind === "crashed" || reason.kind === "killed";
}
