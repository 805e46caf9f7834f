/**
 * A per-window credit budget (e.g. Twelve Data's 8 credits per minute), kept as a sliding log of
 * spends: no window of `windowMs` — whatever its alignment — ever holds more than `credits`, so the
 * upstream's own fixed per-minute windows are never exceeded. Callers wait, in FIFO order, until their
 * cost fits.
 *
 * @module
 */
import { abortableSleep } from "../../core/abortable_sleep.ts";

/** Options of {@link CreditRateLimiter}. */
export interface CreditRateLimiterOptions {
  /** Credits per window. Default 8. */
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
  /** Spends inside the current window, oldest first. */
  #spends: { at: number; cost: number }[] = [];
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
  }

  /** Credits available right now. */
  get available(): number {
    this.#expire(this.#now());
    return this.credits - this.#used();
  }

  /**
   * Takes `cost` credits, waiting (in FIFO order) until they fit in the window.
   *
   * @param cost credits this request uses
   * @param signal aborts the wait
   * @throws {RangeError} when `cost` exceeds the budget
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

  /** Marks the whole budget as spent now, e.g. after the upstream answered 429 (its count is ahead of ours). */
  drain(): void {
    const now = this.#now();
    this.#expire(now);
    const left = this.credits - this.#used();
    if (left > 0) this.#spends.push({ at: now, cost: left });
  }

  async #take(cost: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#now();
      this.#expire(now);
      let free = this.credits - this.#used();
      if (free >= cost) {
        this.#spends.push({ at: now, cost });
        return;
      }
      let waitMs = this.windowMs;
      for (const spend of this.#spends) {
        free += spend.cost;
        if (free >= cost) {
          waitMs = spend.at + this.windowMs - now;
          break;
        }
      }
      await abortableSleep(Math.max(1, waitMs), signal);
    }
  }

  #expire(now: number): void {
    while (this.#spends.length > 0 && this.#spends[0]!.at + this.windowMs <= now) this.#spends.shift();
  }

  #used(): number {
    let used = 0;
    for (const s of this.#spends) used += s.cost;
    return used;
  }
}
