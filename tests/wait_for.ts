/**
 * The one polling wait of the tests: every test that waits for a condition waits with {@linkcode waitFor}, with a
 * deadline (generous: the CI machine is shared and slow) and a message naming what it waited for.
 *
 * @module
 */
import { abortableSleep } from "../core/abortable_sleep.ts";

/** Options of {@linkcode waitFor}. */
export interface WaitForOptions {
  /** How long to wait before failing; default 10 000 ms. */
  timeoutMs?: number;
  /** Pause between two checks; default 10 ms. */
  intervalMs?: number;
}

/**
 * Checks `condition` until it is true.
 *
 * @param condition the check; may be async
 * @param what what is awaited, for the error (a function is called at the timeout, e.g. to add the last value seen)
 * @param options deadline and polling interval
 * @throws {Error} "Timed out after N ms waiting for <what>" when the deadline passes first
 *
 * @example
 * ```ts
 * await waitFor(() => seen.length === 3, "three batches", { timeoutMs: 30_000 });
 * ```
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  options: WaitForOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`,
      );
    }
    await abortableSleep(options.intervalMs ?? 10);
  }
}
