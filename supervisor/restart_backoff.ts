/**
 * Exponential restart backoff with jitter, reset after a stable period.
 *
 * @module
 */

/** Backoff settings. */
export interface BackoffOptions {
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
  readonly options: BackoffOptions;
  #attempt = 0;

  /**
   * @param options Backoff settings.
   * @param random Random source in [0, 1) (injectable for tests).
   * @throws {RangeError} When the settings are inconsistent.
   */
  constructor(options: BackoffOptions, readonly random: () => number = Math.random) {
    const { minMs, maxMs, jitter, resetAfterMs } = options;
    if (!(minMs >= 0 && maxMs >= minMs)) {
      throw new RangeError(
        `Cannot create backoff: need 0 <= minMs <= maxMs, current values are ${minMs}, ${maxMs}`,
      );
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new RangeError(`Cannot create backoff: jitter must be within 0..1, current value is ${jitter}`);
    }
    if (!(resetAfterMs >= 0)) {
      throw new RangeError(
        `Cannot create backoff: resetAfterMs must be >= 0, current value is ${resetAfterMs}`,
      );
    }
    this.options = options;
  }

  /**
   * The delay before the next restart, given how long the child was up.
   *
   * @param uptimeMs How long the exiting incarnation ran.
   * @returns Delay in ms.
   */
  next(uptimeMs: number): number {
    const { minMs, maxMs, jitter, resetAfterMs } = this.options;
    if (uptimeMs >= resetAfterMs) this.#attempt = 0;
    const base = Math.min(maxMs, minMs * 2 ** this.#attempt);
    this.#attempt++;
    const spread = base * jitter * (2 * this.random() - 1);
    return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
  }

  /** Consecutive restarts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }
}
