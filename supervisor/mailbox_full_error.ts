/**
 * The error `ActorHandle.send` rejects with when the handle's queue is at capacity.
 *
 * @module
 */

/** The caller ignored `hasCredit()` and overfilled the mailbox; pause the source and retry. */
export class MailboxFullError extends Error {
  readonly actor: string;
  readonly capacity: number;
  readonly retriable = true;

  /**
   * @param actor Actor path.
   * @param capacity The mailbox capacity.
   */
  constructor(actor: string, capacity: number) {
    super(`actor ${actor} mailbox is full (capacity ${capacity}); wait for credit`);
    this.name = "MailboxFullError";
    this.actor = actor;
    this.capacity = capacity;
  }
}
