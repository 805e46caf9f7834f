/**
 * The error carried by an actor's `crashed` exit reason.
 *
 * @module
 */

/** Why an actor crashed: an uncaught error, an unhandled rejection, a failed `run()`, a Worker error or a failed start. */
export class ActorCrashError extends Error {
  readonly actor: string;
  /** `uncaught_error` | `unhandled_rejection` | `run_failed` | `worker_error` | `start_failed` | `start_timeout` | `batch_failed`. */
  readonly reason: string;
  /** Error class reported from inside the Worker. */
  readonly remoteName: string;
  /** A restart may help (false for an invalid config). */
  readonly retriable: boolean;

  /**
   * @param actor Actor path.
   * @param reason Crash reason.
   * @param remote The error as reported by the Worker.
   * @param retriable Whether restarting may help.
   */
  constructor(
    actor: string,
    reason: string,
    remote: { name: string; message: string; stack?: string },
    retriable = true,
  ) {
    super(`actor ${actor} crashed (${reason}): ${remote.name}: ${remote.message}`);
    this.name = "ActorCrashError";
    this.actor = actor;
    this.reason = reason;
    this.remoteName = remote.name;
    this.retriable = retriable;
    if (remote.stack) this.stack = `${this.name}: ${this.message}\n[in worker] ${remote.stack}`;
  }
}
