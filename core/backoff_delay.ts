/**
 * The one backoff formula of qistream: `min(maxMs, initialMs * factor^attempt)`, spread by ±`jitter`. Retries,
 * reconnect loops, supervisor restarts, the dispatcher's retries and the connectors' loops all wait with it. No
 * imports, so a Worker may use it.
 *
 * @module
 */

/** Backoff settings shared by retries and reconnect loops. */
export interface BackoffOptions {
  /** Delay of the first retry, in ms. Default 500. */
  initialMs?: number;
  /** Cap of the delay, in ms. Default 30 000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Random spread as a fraction of the delay, 0..1 (0.2 → ±20 %). Default 0.2. */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (0-based).
 *
 * @param attempt how many retries came before this one
 * @param options backoff settings
 * @param random random source in [0, 1)
 * @returns delay in ms, within `[0, maxMs]`
 * @throws {RangeError} when the settings are inconsistent
 *
 * @example
 * ```ts
 * backoffDelay(3, { initialMs: 100, jitter: 0 }); // 800
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const initialMs = options.initialMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  if (!(initialMs >= 0 && maxMs >= initialMs)) {
    throw new RangeError(
      `Cannot compute backoff: need 0 <= initialMs <= maxMs, current values are ${initialMs}, ${maxMs}`,
    );
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`Cannot compute backoff: jitter must be within 0..1, current value is ${jitter}`);
  }
  if (!(factor >= 1)) {
    throw new RangeError(`Cannot compute backoff: factor must be >= 1, current value is ${factor}`);
  }
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
}
