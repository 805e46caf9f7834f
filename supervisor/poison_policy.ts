/**
 * What to do with a batch that failed: retry it after a backoff, split it in halves to isolate the records
 * that fail, or — a single record out of tries — send it to the dead-letter topic.
 *
 * A batch gets `maxAttempts` tries; then it is split; each half gets one more try (the failure is already
 * established for the group), and a half of one record gets `maxAttempts` more. So one poison record among
 * `n` costs `2 * maxAttempts + log2(n) - 1` tries of batches that hold it, and its batch-mates are processed
 * once.
 *
 * @module
 */
import { backoffDelay } from "../core/backoff_delay.ts";

/** The part of a failed batch the policy reads. */
export interface FailedBatch<R> {
  records: readonly R[];
  /** Tries so far, this one included (inherited by the halves of a split). */
  attempts: number;
  /** Tries allowed before splitting (or dead-lettering). */
  budget: number;
  /**
   * `false` when the last failure said retrying cannot help (the handler's error had `retriable: false`, e.g.
   * a row the database refuses): the batch is split, or its single record dead-lettered, without retries.
   */
  retriable?: boolean;
}

/** Policy settings. */
export interface PoisonPolicy {
  maxAttempts: number;
  backoff: { minMs: number; maxMs: number };
}

/** The decision for a failed batch. */
export type FailureDecision<R> =
  | { action: "retry"; delayMs: number }
  | { action: "split"; parts: { records: R[]; budget: number }[] }
  | { action: "dead_letter"; record: R };

/**
 * Decides what happens to a failed batch.
 *
 * @param batch The failed batch.
 * @param policy Tries and backoff.
 * @returns Retry after `delayMs` (`minMs * 2^(attempts-1)`, capped), split into two parts with their budgets,
 *   or dead-letter its only record.
 * @example
 * ```ts
 * const policy = { maxAttempts: 3, backoff: { minMs: 20, maxMs: 2000 } };
 * failureDecision({ records: [1, 2, 3], attempts: 3, budget: 3 }, policy);
 * // { action: "split", parts: [{ records: [1, 2], budget: 4 }, { records: [3], budget: 6 }] }
 * ```
 */
export function failureDecision<R>(batch: FailedBatch<R>, policy: PoisonPolicy): FailureDecision<R> {
  if (batch.records.length === 0) throw new RangeError("Cannot decide on a failed batch: it has no records");
  if (batch.attempts < batch.budget && batch.retriable !== false) {
    return { action: "retry", delayMs: retryDelay(batch.attempts, policy.backoff) };
  }
  if (batch.records.length === 1) return { action: "dead_letter", record: batch.records[0]! };
  const mid = Math.ceil(batch.records.length / 2);
  return {
    action: "split",
    parts: [batch.records.slice(0, mid), batch.records.slice(mid)].map((records) => ({
      records,
      budget: batch.attempts + (records.length === 1 ? policy.maxAttempts : 1),
    })),
  };
}

/**
 * The wait before the next try of a batch that failed `attempts` times: `minMs * 2^(attempts-1)`, capped at
 * `maxMs`, without jitter (the one formula of `core/backoff_delay.ts`).
 *
 * @param attempts tries so far (1 after the first failure)
 * @param backoff the dispatcher's retry backoff
 * @returns the delay in ms
 */
export function retryDelay(attempts: number, backoff: { minMs: number; maxMs: number }): number {
  const initialMs = Math.min(backoff.minMs, backoff.maxMs);
  return backoffDelay(Math.max(0, attempts - 1), { initialMs, maxMs: backoff.maxMs, jitter: 0 });
}
