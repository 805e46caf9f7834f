/**
 * A small, fast, seeded pseudo-random generator (mulberry32) with standard normal draws, so the
 * synthetic market is reproducible for a seed.
 *
 * @module
 */

/**
 * Deterministic random numbers for a 32-bit seed.
 *
 * @example
 * ```ts
 * const rng = new SeededRandom(42);
 * rng.next(); // same value for seed 42, every run
 * ```
 */
export class SeededRandom {
  #state: number;
  #spare = 0;
  #hasSpare = false;

  /** @param seed any integer (taken modulo 2^32) */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Cannot seed random: current value is ${seed}`);
    this.#state = seed >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A standard normal draw (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    this.#hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }
}
