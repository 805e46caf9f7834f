/**
 * The error `ctx.publish` rejects with.
 *
 * @module
 */

/** The main thread could not publish the records (connector failure or no publisher wired). */
export class PublishError extends Error {
  /** Target topic. */
  readonly topic: string;
  /** Whether publishing again may succeed. */
  readonly retriable: boolean;

  /**
   * @param topic Target topic.
   * @param message What went wrong.
   * @param opts Retriability and cause.
   */
  constructor(topic: string, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(`publishing to "${topic}": ${message}`, { cause: opts.cause });
    this.name = "PublishError";
    this.topic = topic;
    this.retriable = opts.retriable ?? true;
  }
}
