/**
 * The error `ctx.publish` rejects with.
 *
 * @module
 */

/**
 * The main thread could not publish an agent's records (the connector failed, or no publisher is wired). Not the
 * connector's own `PublishError`: this one lives in the Worker and names the main-thread error it stands for.
 */
export class AgentPublishError extends Error {
  /** Target topic. */
  readonly topic: string;
  /** The main-thread error's class, e.g. `PublishError` or `RecordTooLargeError`. */
  readonly remoteName?: string;
  /** The main-thread error's own `retriable` flag, unchanged; `undefined` when it had none (docs/errors.md). */
  readonly retriable: boolean | undefined;

  /**
   * @param topic Target topic.
   * @param message What went wrong.
   * @param opts The main-thread error's class, its `retriable` flag, and cause.
   */
  constructor(
    topic: string,
    message: string,
    opts: { remoteName?: string; retriable?: boolean; cause?: unknown } = {},
  ) {
    super(`publishing to "${topic}": ${message}`, { cause: opts.cause });
    this.name = "AgentPublishError";
    this.topic = topic;
    this.remoteName = opts.remoteName;
    this.retriable = opts.retriable;
  }
}
