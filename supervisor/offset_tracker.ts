/**
 * Per-partition ack tracking: which offsets may be committed.
 *
 * Ranges of offsets are tracked in delivery order and acked in any order (and in pieces, when a batch is
 * split); the committable offset is the end of the contiguous prefix of acked ranges — never past an unacked
 * offset. Gaps between tracked ranges (compacted or transactional offsets the log never delivered) do not
 * block it.
 *
 * @module
 */

interface Range {
  from: bigint;
  to: bigint;
}

/** Tracks delivered and acked offsets of one partition. */
export class OffsetTracker {
  #pending: Range[] = [];
  #highest = -1n;

  /**
   * Registers delivered offsets `from..to` (inclusive) as unacked. Ranges must come in increasing order.
   *
   * @throws {RangeError} When the range is empty, reversed, or not after everything tracked so far.
   * @example
   * ```ts
   * const t = new OffsetTracker();
   * t.track("0", "9");
   * t.track("10", "19");
   * t.ack("10", "19");
   * t.committable(); // undefined: 0..9 is unacked
   * t.ack("0", "9");
   * t.committable(); // "19"
   * ```
   */
  track(from: string, to: string): void {
    const f = BigInt(from), t = BigInt(to);
    if (t < f) throw new RangeError(`Cannot track offsets: ${from}..${to} is reversed`);
    if (f <= this.#highest) {
      throw new RangeError(
        `Cannot track offsets: ${from} is not after ${this.#highest}, the highest tracked`,
      );
    }
    this.#pending.push({ from: f, to: t });
    this.#highest = t;
  }

  /** Marks offsets `from..to` (inclusive) as acked; a sub-range of a tracked range splits it. */
  ack(from: string, to: string): void {
    const f = BigInt(from), t = BigInt(to);
    const next: Range[] = [];
    for (const r of this.#pending) {
      if (r.to < f || r.from > t) {
        next.push(r);
        continue;
      }
      if (r.from < f) next.push({ from: r.from, to: f - 1n });
      if (r.to > t) next.push({ from: t + 1n, to: r.to });
    }
    this.#pending = next;
  }

  /**
   * The highest offset whose record and all tracked ones before it are acked, or `undefined` when none is.
   * Commit it (the connector stores `offset + 1` as the position).
   */
  committable(): string | undefined {
    const first = this.#pending[0];
    const end = first ? first.from - 1n : this.#highest;
    return end < 0n ? undefined : end.toString();
  }

  /** The highest offset tracked so far (`-1` before the first). */
  get highest(): bigint {
    return this.#highest;
  }

  /** Number of unacked offset ranges. */
  get pendingRanges(): number {
    return this.#pending.length;
  }
}
