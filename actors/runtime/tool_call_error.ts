/**
 * The error a tool call fails with.
 *
 * @module
 */

/** A tool call was refused, aborted, or the tool reported an error. */
export class ToolCallError extends Error {
  /** Tool name. */
  readonly tool: string;
  /** The error class reported by the tool server, when it answered with an error. */
  readonly remoteName?: string;
  /** Tool errors may be transient; the batch is failed and the dispatcher decides. */
  readonly retriable = true;

  /**
   * @param tool Tool name.
   * @param message What went wrong.
   * @param opts Remote error class and cause.
   */
  constructor(tool: string, message: string, opts: { remoteName?: string; cause?: unknown } = {}) {
    super(`calling tool "${tool}": ${message}`, { cause: opts.cause });
    this.name = "ToolCallError";
    this.tool = tool;
    this.remoteName = opts.remoteName;
  }
}
