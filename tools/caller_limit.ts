/**
 * A per-caller concurrency cap: each caller (an HTTP token, an actor) may have at most `perCaller` calls in
 * flight; one more is refused at once with a {@linkcode QueryBusyError} instead of waiting, so a caller that
 * floods the query tools gets errors and everybody else keeps their share of the pool.
 *
 * @module
 */
import { QueryBusyError } from "./query_busy_error.ts";

/** Counts calls in flight per caller. */
export class CallerLimit {
  readonly #inFlight = new Map<string, number>();
  readonly #perCaller: number;
  readonly #setting: string;

  /**
   * @param perCaller Most calls one caller may have in flight (an integer ≥ 1).
   * @param setting The configuration field that sets it, named in the refusal.
   * @throws {RangeError} When `perCaller` is not an integer ≥ 1.
   *
   * @example
   * ```ts
   * const limit = new CallerLimit(2, "mcp.query.perCaller");
   * await limit.run("http:grafana", () => runQuery());
   * ```
   */
  constructor(perCaller: number, setting = "perCaller") {
    if (!Number.isInteger(perCaller) || perCaller < 1) {
      throw new RangeError(
        `Cannot limit callers: perCaller must be an integer ≥ 1, current value is ${perCaller}`,
      );
    }
    this.#perCaller = perCaller;
    this.#setting = setting;
  }

  /** Calls in flight for `caller`. */
  inFlight(caller: string): number {
    return this.#inFlight.get(caller) ?? 0;
  }

  /**
   * Runs `fn` as one of `caller`'s calls.
   *
   * @param caller Who is calling (`http:<token>`, `actor:<id>`).
   * @param fn The work.
   * @returns What `fn` returns.
   * @throws {QueryBusyError} At once, without running `fn`, when `caller` already has `perCaller` calls in flight.
   */
  async run<T>(caller: string, fn: () => Promise<T>): Promise<T> {
    const current = this.inFlight(caller);
    if (current >= this.#perCaller) {
      throw new QueryBusyError(
        `Cannot run the query: caller "${caller}" already has ${current} queries running ` +
          `(${this.#setting} = ${this.#perCaller}); retry when one finishes`,
      );
    }
    this.#inFlight.set(caller, current + 1);
    try {
      return await fn();
    } finally {
      const left = this.inFlight(caller) - 1;
      if (left > 0) this.#inFlight.set(caller, left);
      else this.#inFlight.delete(caller);
    }
  }
}
