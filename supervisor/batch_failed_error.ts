/**
 * The error `ActorHandle.send` rejects with when the agent's handler threw or rejected.
 *
 * @module
 */

/** The agent's `receive()` failed this batch. The actor is still running. */
export class BatchFailedError extends Error {
  readonly actor: string;
  readonly batchId: string;
  /** Error class reported by the handler (e.g. `TypeError`, `ToolCallError`). */
  readonly remoteName: string;
  /**
   * The handler error's own `retriable` flag as the Worker reported it; `undefined` when it had none (unknown: the
   * dispatcher gives the batch its normal attempt budget, docs/errors.md).
   */
  readonly retriable: boolean | undefined;

  /**
   * @param actor Actor path.
   * @param batchId The failed batch.
   * @param remote The handler's error as reported by the Worker.
   */
  constructor(
    actor: string,
    batchId: string,
    remote: { name: string; message: string; stack?: string; retriable?: boolean },
  ) {
    super(`actor ${actor} failed batch ${batchId}: ${remote.name}: ${remote.message}`);
    this.name = "BatchFailedError";
    this.actor = actor;
    this.batchId = batchId;
    this.remoteName = remote.name;
    this.retriable = remote.retriable;
    if (remote.stack) this.stack = `${this.name}: ${this.message}\n[in worker] ${remote.stack}`;
  }
}
