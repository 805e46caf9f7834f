/**
 * The error a tool call fails with.
 *
 * @module
 */

/**
 * A tool call was refused, aborted, or the tool reported an error. `retriable` is the tool's own flag as the tool
 * server sent it (docs/errors.md), never guessed from the error's name or text.
 */
export class ToolCallError extends Error {
  /** Tool name. */
  readonly tool: string;
  /**
   * The error class reported by the tool side when it answered with an error (`AccessDenied`, `InvalidToolCall`,
   * or the class the tool threw, e.g. `DatabaseError`); `undefined` when the call was refused in the Worker.
   */
  readonly remoteName?: string;
  /**
   * Whether the same call may succeed later: the tool error's flag; `false` for local refusals (tool not in
   * `spec.tools`, no port wired); `true` for an aborted call; `undefined` when the tool's error carried no flag.
   */
  readonly retriable: boolean | undefined;

  /**
   * @param tool Tool name.
   * @param message What went wrong.
   * @param opts Remote error class, the `retriable` flag, and cause.
   */
  constructor(
    tool: string,
    message: string,
    opts: { remoteName?: string; retriable?: boolean; cause?: unknown } = {},
  ) {
    super(`calling tool "${tool}": ${message}`, { cause: opts.cause });
    this.name = "ToolCallError";
    this.tool = tool;
    this.remoteName = opts.remoteName;
    this.retriable = opts.retriable;
  }
}
