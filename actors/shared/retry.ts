/**
 * Retries an async operation with exponential backoff and jitter, honouring an AbortSignal and the
 * `retriable` flag (and `retryAfterMs`) of typed errors.
 *
 * @module
 */
import { isRetriable } from "../../core/retriable.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { backoffDelay, type BackoffOptions } from "../../core/backoff_delay.ts";

/** Options of {@link retry}. */
export interface RetryOptions extends BackoffOptions {
  /** Total attempts, including the first. Default 5. */
  attempts?: number;
  /** Aborts the waits and stops retrying. */
  signal?: AbortSignal;
  /** Whether an error deserves another attempt. Default: its `retriable` flag is true. */
  isRetriable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
}

/**
 * Runs `fn` until it succeeds, an error is not retriable, or the attempts are used up; the last error
 * is rethrown as is. A `retryAfterMs` on the error raises the wait to at least that.
 *
 * @param fn the operation; receives the 0-based attempt number
 * @param options attempts, backoff, signal
 * @returns what `fn` returned
 * @throws the last error of `fn`, or the signal's reason when aborted
 *
 * @example
 * ```ts
 * const bars = await retry(() => client.history({ fsym: "BTC", tsym: "USD", unit: "day" }), { attempts: 3 });
 * ```
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  if (!(Number.isInteger(attempts) && attempts >= 1)) {
    throw new RangeError(`Cannot retry: attempts must be an integer >= 1, current value is ${attempts}`);
  }
  const retriable = options.isRetriable ?? isRetriable;
  for (let attempt = 0;; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted || attempt + 1 >= attempts || !retriable(error)) throw error;
      const after = (error as { retryAfterMs?: unknown }).retryAfterMs;
      let delay = backoffDelay(attempt, options, options.random);
      if (typeof after === "number" && after > delay) delay = after;
      options.onRetry?.(error, attempt, delay);
      await abortableSleep(delay, options.signal);
    }
  }
}
