/**
 * The one `retriable` contract of qistream's errors (see docs/errors.md).
 *
 * Every qistream error class has a `retriable` field: `true` when trying the same thing again may succeed (a
 * timeout, a lost connection, a busy pool), `false` when it never will (bad input, a refused row, access denied).
 * An error that carries no boolean flag — a built-in `TypeError`, a driver's own error — is *unknown*:
 * {@linkcode retriableOf} returns `undefined` for it, and each reader states what unknown means to it (retry loops
 * and partition stalls retry only `true`; the dispatcher gives an unknown batch failure its normal attempt budget
 * before isolating the record). A flag crosses every boundary (tool server → tool port → agent, Worker → actor
 * handle → dispatcher) as it is, never guessed back from an error's name or message.
 *
 * This module has no imports, so a Worker may use it.
 *
 * @module
 */

/**
 * The `retriable` flag an error carries, or `undefined` when it carries none.
 *
 * @param error anything thrown
 * @returns `true`, `false`, or `undefined` (unknown)
 *
 * @example
 * ```ts
 * retriableOf(Object.assign(new Error("timeout"), { retriable: true })); // true
 * retriableOf(new TypeError("x is undefined")); // undefined
 * ```
 */
export function retriableOf(error: unknown): boolean | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const flag = (error as { retriable?: unknown }).retriable;
  return typeof flag === "boolean" ? flag : undefined;
}

/**
 * Whether an error says trying again may succeed: its flag is `true` (unknown counts as no).
 *
 * @param error anything thrown
 * @returns true only for `retriable: true`
 *
 * @example
 * ```ts
 * if (!isRetriable(error)) throw error; // permanent or unknown: do not spin on it
 * ```
 */
export function isRetriable(error: unknown): boolean {
  return retriableOf(error) === true;
}
