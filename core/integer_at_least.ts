/**
 * The one check of a whole-number setting (batch sizes, windows, timeouts, partition counts). No imports, so a
 * Worker may use it.
 *
 * @module
 */

/**
 * Returns `value` when it is an integer of at least `min`.
 *
 * @param doing what the caller was doing, e.g. `create a dispatcher`
 * @param name the setting's name, e.g. `maxAttempts`
 * @param value the value to check
 * @param min the least allowed value; default 1
 * @returns `value`
 * @throws {RangeError} "Cannot <doing>: <name> must be an integer >= <min>, current value is <value>"
 *
 * @example
 * ```ts
 * this.#maxAttempts = integerAtLeast("create a dispatcher", "maxAttempts", options.maxAttempts ?? 3);
 * ```
 */
export function integerAtLeast(doing: string, name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`Cannot ${doing}: ${name} must be an integer >= ${min}, current value is ${value}`);
  }
  return value;
}
