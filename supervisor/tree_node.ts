import type { DispatcherSnapshot } from "./dispatcher.ts";
import type { TaskProgress } from "../core/task_progress.ts";

/**
 * The JSON shape of the live supervision tree (served by the HTTP API and the supervision MCP tools).
 *
 * @module
 */

/** The last error a node saw. */
export interface LastError {
  reason: string;
  name: string;
  message: string;
  /** ISO time. */
  at: string;
}

/** A supervisor in the tree. */
export interface SupervisorNode {
  type: "supervisor";
  id: string;
  path: string;
  state: "starting" | "running" | "restarting" | "stopping" | "stopped" | "failed";
  strategy: string;
  intensity: { max: number; periodMs: number; recent: number };
  /** Restarts of this supervisor by its parent. */
  restarts: number;
  lastError?: LastError;
  children: TreeNode[];
}

/** An actor (one Worker) in the tree. */
export interface ActorNode {
  type: "actor";
  id: string;
  path: string;
  agent: string;
  state: "starting" | "running" | "stopping" | "stopped" | "crashed";
  /** Restarts of this child by its supervisor. */
  restarts: number;
  /** Batches accepted by `send` and waiting for credit. */
  mailboxDepth: number;
  /** Batches posted to the Worker and not yet acked or failed (at most `creditWindow`). */
  inflight: number;
  creditWindow: number;
  /** Longest a batch may run without progress before the actor counts as hung. */
  batchDeadlineMs: number;
  /** While a batch runs: ms since it started or last made progress (a hang shows as this growing). */
  sinceProgressMs?: number;
  processed: number;
  failed: number;
  /** Long tasks the actor reported (`ctx.progress`): a backfill, a replay, with percent, rate and ETA. */
  tasks?: TaskProgress[];
  /** ISO time the current incarnation started. */
  startedAt?: string;
  lastError?: LastError;
  permissions: Record<string, unknown>;
}

/** A child that is not running at the moment (waiting for its restart backoff, or not started yet). */
export interface PendingNode {
  type: "pending";
  id: string;
  path: string;
  state: "restarting" | "stopped";
  restarts: number;
  lastError?: LastError;
}

/**
 * A singleton child that waits while another node runs it (see `gated_child.ts`). Standby is healthy: the node
 * takes over when the node that runs it goes away.
 */
export interface StandbyNode {
  type: "standby";
  id: string;
  path: string;
  state: "standby";
  /** Why it does not run here. */
  reason: string;
  /** Restarts of this child by its supervisor. */
  restarts: number;
  lastError?: LastError;
  /** ISO time it went (or started) on standby. */
  since: string;
  /** Times it started here after being on standby. */
  handovers: number;
}

/** A dispatcher in the tree: its partitions, owners, in-flight batches and committed offsets. */
export interface DispatcherNode extends DispatcherSnapshot {
  id: string;
  path: string;
  state: "running" | "stopping" | "stopped" | "failed";
  restarts: number;
  lastError?: LastError;
}

/** Any node. */
export type TreeNode = SupervisorNode | ActorNode | PendingNode | DispatcherNode | StandbyNode;
