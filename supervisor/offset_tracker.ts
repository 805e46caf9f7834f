/**
 * Per-partition ack tracking: which offsets may be committed.
 *
 * The offsets of delivered records are tracked in delivery order and acked by ranges in any order (and in
 * pieces, when a batch is split); the committable offset is the end of the acked prefix — never past an
 * unacked record. Only offsets that were delivered are ever pending: the offsets a log never delivers (records
 * removed by compaction, transaction markers, aborted records) are gaps, wherever they fall — between fetches
 * or inside one run, between the halves of a split batch or around a dead-lettered record — and never hold a
 * commit back. {@linkcode OffsetTracker.skipTo} moves past offsets the log covered without delivering a record
 * (a trailing transaction marker), as the Java consumer's position does.
 *
 * @module
 */

interface Range {
  from: bigint;
  to: bigint;
}

/** Tracks delivered and acked offsets of one partition. */
export class OffsetTracker {
  /** Runs of consecutive delivered, unacked offsets, ascending and disjoint. */
  #pending: Range[] = [];
  #highest = -1n;

  /**
   * Registers the offsets of delivered records as unacked. They must be increasing and after everything
   * tracked so far; offsets between them are gaps (never delivered), not pending.
   *
   * @param offsets Decimal offsets of the delivered records, in delivery order.
   * @throws {RangeError} When an offset is not after the one before it (or the highest tracked).
   * @example
   * ```ts
   * const t = new OffsetTracker();
   * t.track(["5", "7"]); // 6 was compacted away, or is a transaction marker
   * t.ack("5", "5");
   * t.ack("7", "7");
   * t.committable(); // "7"
   * ```
   */
  track(offsets: readonly string[]): void {
    for (const offset of offsets) {
      const o = BigInt(offset);
      if (o <= this.#highest) {
        throw new RangeError(
          `Cannot track offset ${offset}: it is not after ${this.#highest}, the highest tracked`,
        );
      }
      const last = this.#pending.at(-1);
      if (last && last.to === o - 1n) last.to = o;
      else this.#pending.push({ from: o, to: o });
      this.#highest = o;
    }
  }

  /**
   * Moves the highest tracked offset to `offset` without a record to ack: the log covered the offsets up to it
   * but delivered none of them (e.g. the commit marker after a transaction's records). Ignored when `offset` is
   * not above the highest tracked.
   */
  skipTo(offset: string): void {
    const o = BigInt(offset);
    if (o > this.#highest) this.#highest = o;
  }

  /** Marks every tracked offset in `from..to` (inclusive) as acked; gaps in the range are fine. */
  ack(from: string, to: string): void {
    const f = BigInt(from), t = BigInt(to);
    const pending = this.#pending;
    let first = 0, end = pending.length;
    while (first < end) { // the first run that ends at or after `from`
      const mid = (first + end) >> 1;
      if (pending[mid]!.to < f) first = mid + 1;
      else end = mid;
    }
    const kept: Range[] = [];
    let last = first;
    for (; last < pending.length && pending[last]!.from <= t; last++) {
      const r = pending[last]!;
      if (r.from < f) kept.push({ from: r.from, to: f - 1n });
      if (r.to > t) kept.push({ from: t + 1n, to: r.to });
    }
    pending.splice(first, last - first, ...kept);
  }

  /**
   * The highest offset such that it and every tracked offset before it are acked (or were never delivered),
   * or `undefined` when there is none. Commit it (the connector stores `offset + 1` as the position).
   */
  committable(): string | undefined {
    const first = this.#pending[0];
    const end = first ? first.from - 1n : this.#highest;
    return end < 0n ? undefined : end.toString();
  }

  /** The highest offset tracked (or skipped to) so far (`-1` before the first). */
  get highest(): bigint {
    return this.#highest;
  }

  /** Number of runs of consecutive unacked offsets. */
  get pendingRanges(): number {
    return this.#pending.length;
  }
}
