/**
 * The one abortable sleep: {@linkcode abortableSleep} rejects with the signal's reason when it aborts (for loops
 * that stop by throwing); {@linkcode sleepOrAbort} resolves `false` instead (for loops that check their stop flag
 * themselves). No imports, so a Worker may use it.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds.
 *
 * @param ms how long to wait (negative counts as 0)
 * @param signal aborts the wait
 * @returns resolves after `ms`
 * @throws the signal's reason when it aborts first
 *
 * @example
 * ```ts
 * await abortableSleep(250, AbortSignal.timeout(1000));
 * ```
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits `ms` milliseconds, or until `signal` aborts, whichever comes first. Never rejects.
 *
 * @param ms how long to wait (negative counts as 0)
 * @param signal ends the wait early (an already aborted signal resolves at once)
 * @returns true when the whole time passed, false when the signal aborted first
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * if (!(await sleepOrAbort(250, stop.signal))) return; // stopped while waiting
 * ```
 */
export function sleepOrAbort(ms: number, signal: AbortSignal): Promise<boolean> {
  return abortableSleep(ms, signal).then(() => true, () => false);
}
