/**
 * OTP's restart-intensity check: at most `intensity` restarts within a sliding window of `periodMs`.
 *
 * @module
 */

/** A sliding window of restart times. */
export class RestartIntensity {
  readonly intensity: number;
  readonly periodMs: number;
  #times: number[] = [];

  /**
   * @param intensity Max restarts allowed within the period (0 means no restart at all).
   * @param periodMs Length of the sliding window.
   * @throws {RangeError} When either is negative or not finite / period is not positive.
   */
  constructor(intensity: number, periodMs: number) {
    if (!(intensity >= 0) || !Number.isInteger(intensity)) {
      throw new RangeError(
        `Cannot create restart intensity: intensity must be an integer >= 0, current value is ${intensity}`,
      );
    }
    if (!(periodMs > 0)) {
      throw new RangeError(
        `Cannot create restart intensity: periodMs must be > 0, current value is ${periodMs}`,
      );
    }
    this.intensity = intensity;
    this.periodMs = periodMs;
  }

  /**
   * Records a restart at `now`.
   *
   * @param now Timestamp in ms.
   * @returns false when this restart exceeds the intensity (the supervisor must give up).
   */
  record(now: number = performance.now()): boolean {
    this.#times = this.#times.filter((t) => now - t < this.periodMs);
    this.#times.push(now);
    return this.#times.length <= this.intensity;
  }

  /** Restarts inside the window ending at `now`. */
  recent(now: number = performance.now()): number {
    return this.#times.filter((t) => now - t < this.periodMs).length;
  }
}
