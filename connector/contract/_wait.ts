/**
 * Bounded waiting helpers for the contract suite: every wait has a deadline and clears its timers, so a
 * failing implementation fails the test quickly instead of hanging it, and Deno's sanitizers stay quiet.
 *
 * @module
 */
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { waitFor as sharedWaitFor } from "../../tests/wait_for.ts";

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return abortableSleep(ms);
}

/**
 * Polls `condition` every 20 ms until it is true (the shared `tests/wait_for.ts`).
 *
 * @throws {Error} naming `what` when `timeoutMs` passes first
 */
export function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return sharedWaitFor(condition, what, { timeoutMs, intervalMs: 20 });
}

/**
 * Awaits `promise`, failing with an error naming `what` if it takes longer than `timeoutMs`.
 *
 * @throws {Error} on timeout (the promise keeps running)
 */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
