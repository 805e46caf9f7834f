/**
 * A sleep that ends early, rejecting, when its signal aborts.
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
