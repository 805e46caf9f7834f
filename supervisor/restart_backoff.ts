/**
 * Exponential restart backoff with jitter (the one formula of `core/backoff_delay.ts`), reset after a stable
 * period.
 *
 * @module
 */
import { backoffDelay, type BackoffOptions } from "../core/backoff_delay.ts";

/** Restart backoff settings (the supervisor's `backoff`; defaults in `supervisor_defaults.ts`). */
export interface RestartBackoffOptions {
  /** Delay before the first restart. */
  minMs: number;
  /** Cap of the delay. */
  maxMs: number;
  /** Fraction of random spread, 0..1 (0.2 → ±20%). */
  jitter: number;
  /** A child up at least this long restarts with `minMs` again. */
  resetAfterMs: number;
}

/** Per-child consecutive-restart state. */
export class RestartBackoff {
  readonly options: RestartBackoffOptions;
  #attempt = 0;

  /**
   * @param options Backoff settings.
   * @param random Random source in [0, 1) (injectable for tests).
   * @throws {RangeError} When the settings are inconsistent.
   */
  constructor(options: RestartBackoffOptions, readonly random: () => number = Math.random) {
    if (!(options.resetAfterMs >= 0)) {
      throw new RangeError(
        `Cannot create backoff: resetAfterMs must be >= 0, current value is ${options.resetAfterMs}`,
      );
    }
    backoffDelay(0, RestartBackoff.#delayOptions(options)); // throws RangeError on inconsistent delays
    this.options = options;
  }

  /**
   * The delay before the next restart, given how long the child was up.
   *
   * @param uptimeMs How long the exiting incarnation ran.
   * @returns Delay in ms.
   */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.options.resetAfterMs) this.#attempt = 0;
    return backoffDelay(this.#attempt++, RestartBackoff.#delayOptions(this.options), this.random);
  }

  static #delayOptions(o: RestartBackoffOptions): BackoffOptions {
    return { initialMs: o.minMs, maxMs: o.maxMs, factor: 2, jitter: o.jitter };
  }

  /** Consecutive restarts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }
}
