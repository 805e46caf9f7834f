/**
 * A sliding one-hour token budget shared by every run of one agent (or of one node's ask door): runs draw
 * from it, and a run that would start with the budget spent fails with `budget_exhausted` instead of calling
 * the endpoint.
 *
 * @module
 */

/** Tokens spent in the last hour, against a limit. */
export class TokenBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #spent: Array<{ at: number; tokens: number }> = [];

  /**
   * @param limit tokens per window (0 or Infinity: no limit)
   * @param windowMs the window, default one hour
   * @param now clock, for tests
   */
  constructor(limit: number, windowMs = 3_600_000, now: () => number = Date.now) {
    this.#limit = limit > 0 ? limit : Infinity;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Tokens still available in the current window. */
  remaining(): number {
    const since = this.#now() - this.#windowMs;
    this.#spent = this.#spent.filter((s) => s.at > since);
    return this.#limit - this.#spent.reduce((sum, s) => sum + s.tokens, 0);
  }

  /** Records tokens spent now. */
  spend(tokens: number): void {
    if (tokens > 0) this.#spent.push({ at: this.#now(), tokens });
  }
}
