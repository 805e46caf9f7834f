/**
 * A sleep that ends early, resolving, when its signal aborts: the connectors' retry and backoff loops wait with it
 * and then check their stop signal themselves.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds, or until `signal` aborts, whichever comes first. Never rejects.
 *
 * @param ms how long to wait
 * @param signal ends the wait early (an already aborted signal resolves at once)
 * @returns resolves when the time is up or the signal aborts
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * await interruptibleSleep(250, stop.signal);
 * if (stop.signal.aborted) return;
 * ```
 */
export function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
