/**
 * The error of a query tool that could not start because its limits were reached.
 *
 * @module
 */

/**
 * A query was refused before it ran: the caller already has its share of queries running, or no connection of
 * the query tools' pool became free in time. Nothing ran; the same call may succeed later (`retriable`).
 */
export class QueryBusyError extends Error {
  override name = "QueryBusyError";
  /** Try again once a running query finishes. */
  readonly retriable = true;

  /**
   * @param message What limit was reached, and its setting.
   */
  constructor(message: string) {
    super(message);
  }
}
