/**
 * The supervision tree and the actors it supervises.
 *
 * ```ts
 * import { actorChild, oneForOne, Supervisor } from "./supervisor/mod.ts";
 *
 * const root = await Supervisor.start({
 *   id: "root",
 *   strategy: oneForOne, // or oneForAll, restForOne
 *   intensity: 1,
 *   periodMs: 5000,
 *   children: [actorChild({ id: "echo-0", module: new URL("./agents/echo.ts", import.meta.url) })],
 *   onGiveUp: () => Deno.exit(1),
 * });
 * root.onEvent((e) => console.log(e.type, e.path));
 * console.log(root.snapshot()); // the live tree as JSON
 * await root.stop();
 * ```
 *
 * See docs/supervision.md.
 *
 * @module
 */
export { Supervisor, supervisorChild, type SupervisorOptions } from "./supervisor.ts";
export {
  type Child,
  type ChildSpec,
  type ChildStartContext,
  type ExitReason,
  type RestartType,
  shouldRestart,
  type Shutdown,
} from "./child_spec.ts";
export type { RestartStrategy } from "./restart_strategy.ts";
export { oneForOne } from "./strategy_one_for_one.ts";
export { oneForAll } from "./strategy_one_for_all.ts";
export { restForOne } from "./strategy_rest_for_one.ts";
export { RestartIntensity } from "./restart_intensity.ts";
export { RestartBackoff, type RestartBackoffOptions } from "./restart_backoff.ts";
export { SUPERVISOR_DEFAULTS } from "./supervisor_defaults.ts";
export type { SupervisorEvent } from "./supervisor_event.ts";
export type {
  ActorNode,
  DispatcherNode,
  LastError,
  PendingNode,
  StandbyNode,
  SupervisorNode,
  TreeNode,
} from "./tree_node.ts";
export { type ActorEvents, ActorHandle, type ActorHandleOptions, type PublishFn } from "./actor_handle.ts";
export { actorChild, type ActorChildOptions } from "./actor_child.ts";
export { type Gate, gatedChild } from "./gated_child.ts";
export { mergePermissions, type WorkerPermissions, workerPermissions } from "./actor_permissions.ts";
export {
  actorBatchDuration,
  actorFailures,
  actorInflight,
  actorMailboxDepth,
  actorRestarts,
  recordAgentMetrics,
} from "./actor_metrics.ts";
export { ActorCrashError } from "./actor_crash_error.ts";
export { ActorExitedError } from "./actor_exited_error.ts";
export { BatchFailedError } from "./batch_failed_error.ts";
export { MailboxFullError } from "./mailbox_full_error.ts";
export { SupervisorGaveUpError } from "./supervisor_gave_up_error.ts";
export {
  CORRELATION_HEADER,
  Dispatcher,
  type DispatcherHealth,
  type DispatcherOptions,
  type DispatcherSnapshot,
  type DispatcherStats,
  type PartitionNode,
  type PauseInfo,
  type SubscriptionNode,
} from "./dispatcher.ts";
export { DeadLetterFailedError } from "./dead_letter_failed_error.ts";
export { dispatcherChild } from "./dispatcher_child.ts";
export { consumerCrashes, dispatcherCommits, dispatcherRedeliveries } from "./dispatcher_metrics.ts";
export { OffsetTracker } from "./offset_tracker.ts";
export { assignPartition } from "./partition_assignment.ts";
export { type FailureDecision, failureDecision, type PoisonPolicy } from "./poison_policy.ts";
