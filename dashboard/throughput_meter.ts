/**
 * Records per second per agent from monotonically growing counters, measured over at least `windowMs`
 * (so several readers in one second see one rate, not noise).
 *
 * @module
 */

/** Rates of one agent, records per second. */
export interface AgentRate {
  in: number;
  out: number;
}

/** Turns counters into rates. */
export class ThroughputMeter {
  #last: { at: number; counts: Record<string, AgentRate> } | undefined;
  #rates: Record<string, AgentRate> = {};
  #windowMs: number;
  #now: () => number;

  constructor(options: { windowMs?: number; now?: () => number } = {}) {
    this.#windowMs = options.windowMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * @param counts Per agent, records in (consumed and acknowledged) and out (published) so far.
   * @returns The rates of the last full window (zero before the second sample).
   */
  sample(counts: Record<string, AgentRate>): Record<string, AgentRate> {
    const now = this.#now();
    if (!this.#last) {
      this.#last = { at: now, counts: structuredClone(counts) };
      this.#rates = Object.fromEntries(Object.keys(counts).map((a) => [a, { in: 0, out: 0 }]));
    } else if (now - this.#last.at >= this.#windowMs) {
      const s = (now - this.#last.at) / 1000;
      const before = this.#last.counts;
      this.#rates = Object.fromEntries(
        Object.entries(counts).map(([agent, c]) => [agent, {
          in: Math.max(0, c.in - (before[agent]?.in ?? 0)) / s,
          out: Math.max(0, c.out - (before[agent]?.out ?? 0)) / s,
        }]),
      );
      this.#last = { at: now, counts: structuredClone(counts) };
    }
    return this.#rates;
  }
}
