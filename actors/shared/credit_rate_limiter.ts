/**
 * A token bucket of API credits: `credits` per `windowMs` (e.g. Twelve Data's 8 per minute), refilled
 * continuously; callers wait until their cost is available.
 *
 * @module
 */
import { abortableSleep } from "./abortable_sleep.ts";

/** Options of {@link CreditRateLimiter}. */
export interface CreditRateLimiterOptions {
  /** Credits available per window (and bucket capacity). Default 8. */
  credits?: number;
  /** Window length in ms. Default 60 000. */
  windowMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Waits for credits before each request.
 *
 * @example
 * ```ts
 * const limiter = new CreditRateLimiter({ credits: 8, windowMs: 60_000 });
 * await limiter.acquire(symbols.length, signal); // 1 credit per symbol
 * ```
 */
export class CreditRateLimiter {
  readonly credits: number;
  readonly windowMs: number;
  readonly #now: () => number;
  #available: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  /** @throws {RangeError} when credits or windowMs is not positive */
  constructor(options: CreditRateLimiterOptions = {}) {
    this.credits = options.credits ?? 8;
    this.windowMs = options.windowMs ?? 60_000;
    if (!(this.credits > 0)) {
      throw new RangeError(
        `Cannot create rate limiter: credits must be > 0, current value is ${this.credits}`,
      );
    }
    if (!(this.windowMs > 0)) {
      throw new RangeError(
        `Cannot create rate limiter: windowMs must be > 0, current value is ${this.windowMs}`,
      );
    }
    this.#now = options.now ?? Date.now;
    this.#available = this.credits;
    this.#last = this.#now();
  }

  /** Credits available right now. */
  get available(): number {
    this.#refill();
    return this.#available;
  }

  /**
   * Takes `cost` credits, waiting (in FIFO order) until they are available.
   *
   * @param cost credits this request uses
   * @param signal aborts the wait
   * @throws {RangeError} when `cost` exceeds the bucket
   * @throws the signal's reason when aborted
   */
  acquire(cost = 1, signal?: AbortSignal): Promise<void> {
    if (!(cost > 0 && cost <= this.credits)) {
      throw new RangeError(
        `Cannot acquire credits: cost must be within 1..${this.credits}, current value is ${cost}`,
      );
    }
    const turn = this.#queue.then(() => this.#take(cost, signal));
    this.#queue = turn.catch(() => {});
    return turn;
  }

  /**
   * Empties the bucket, e.g. after the upstream answered 429 (its window is ahead of ours).
   */
  drain(): void {
    this.#refill();
    this.#available = 0;
  }

  async #take(cost: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.#refill();
      if (this.#available >= cost) {
        this.#available -= cost;
        return;
      }
      const waitMs = ((cost - this.#available) * this.windowMs) / this.credits;
      await abortableSleep(Math.ceil(waitMs), signal);
    }
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = now - this.#last;
    this.#last = now;
    if (elapsed > 0) {
      this.#available = Math.min(this.credits, this.#available + (elapsed * this.credits) / this.windowMs);
    }
  }
}
