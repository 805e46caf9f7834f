/**
 * The error of a query tool that this node does not serve.
 *
 * @module
 */

/**
 * The query tools of a database are off: the node has no read-only role or user to run them as, and the operator
 * did not opt in to running them as the writer. The message says why and what to configure.
 */
export class QueryUnavailableError extends Error {
  override name = "QueryUnavailableError";
  /** Needs a configuration change. */
  readonly retriable = false;
}
