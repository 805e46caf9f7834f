/**
 * Events the tree publishes: every start, exit, failure and restart.
 *
 * @module
 */
import type { ExitReason } from "./child_spec.ts";

/** One event; `path` names the child (or supervisor) it is about. */
export type SupervisorEvent =
  | { type: "child_started"; path: string; restarts: number }
  | { type: "child_exited"; path: string; reason: ExitReason }
  | { type: "child_restarting"; path: string; delayMs: number; restarts: number }
  | { type: "child_start_failed"; path: string; error: Error }
  | { type: "batch_failed"; path: string; batchId: string; error: Error }
  | { type: "intensity_exceeded"; path: string; intensity: number; periodMs: number }
  | { type: "gave_up"; path: string; reason: ExitReason };
