/**
 * Batching by count and time: how fetched records of one partition become the units the dispatcher sends.
 *
 * Records are appended to the queue's last unit while it is *open* — never sent, not sealed, and holding
 * fewer than `maxRecords` — then cut into new units of at most `maxRecords`. A unit is *ready* to send when it
 * is full, sealed (it was sent before, e.g. a retry or a redelivery, or another unit follows it), or
 * `maxWaitMs` has passed since its first record arrived; with `maxWaitMs` 0 every unit is ready at once, so it
 * goes as soon as the actor has credit and only units queued behind a full window grow by merging.
 *
 * @module
 */

/** The part of a queued unit the coalescer reads and writes. */
export interface CoalescedUnit<R> {
  records: R[];
  /** No more records may be merged into it (it was sent before, or a unit follows it). */
  sealed: boolean;
  /** When its first record arrived (ms, `Date.now()` clock). */
  firstAt: number;
}

/** Count and time limits of a batch. */
export interface BatchLimits {
  /** Most records per unit (≥ 1). */
  maxRecords: number;
  /** Longest wait, from a unit's first record, before it is sent even if not full (≥ 0; 0 = no wait). */
  maxWaitMs: number;
}

/**
 * Appends `records`, in order, to `queue`: first into its last unit while that one is open, then into new
 * units made by `create` (each holding at most `maxRecords`). Every unit but the new last one is sealed.
 *
 * @param queue The partition's units not yet sent, oldest first; changed in place.
 * @param records Records that follow everything already in `queue`.
 * @param limits Count limit (time is read by {@linkcode isReady}).
 * @param create Makes a unit of the given records (with `sealed: false` and `firstAt` now).
 * @returns The unit records were merged into (if any) and the units created.
 * @example
 * ```ts
 * const queue: { records: number[]; sealed: boolean; firstAt: number }[] = [];
 * const make = (records: number[]) => ({ records, sealed: false, firstAt: Date.now() });
 * appendRecords(queue, [1, 2, 3], { maxRecords: 4, maxWaitMs: 100 }, make);
 * appendRecords(queue, [4, 5, 6], { maxRecords: 4, maxWaitMs: 100 }, make);
 * queue.map((u) => u.records); // [[1, 2, 3, 4], [5, 6]]
 * ```
 */
export function appendRecords<R, U extends CoalescedUnit<R>>(
  queue: U[],
  records: readonly R[],
  limits: BatchLimits,
  create: (records: R[]) => U,
): { merged?: U; created: U[] } {
  let i = 0;
  let merged: U | undefined;
  const last = queue.at(-1);
  if (last && isOpen(last, limits) && records.length > 0) {
    i = Math.min(records.length, limits.maxRecords - last.records.length);
    last.records.push(...records.slice(0, i));
    merged = last;
  }
  const created: U[] = [];
  for (; i < records.length; i += limits.maxRecords) {
    const prev = queue.at(-1);
    if (prev) prev.sealed = true;
    const unit = create(records.slice(i, i + limits.maxRecords));
    queue.push(unit);
    created.push(unit);
  }
  return { merged, created };
}

/** Whether records may still be merged into `unit`. */
export function isOpen<R>(unit: CoalescedUnit<R>, limits: BatchLimits): boolean {
  return !unit.sealed && unit.records.length < limits.maxRecords;
}

/**
 * Whether `unit` may be sent at `now`: it is sealed or full, or its wait is over.
 *
 * @example
 * ```ts
 * const unit = { records: [1], sealed: false, firstAt: 1000 };
 * isReady(unit, { maxRecords: 10, maxWaitMs: 200 }, 1100); // false
 * isReady(unit, { maxRecords: 10, maxWaitMs: 200 }, 1200); // true
 * ```
 */
export function isReady<R>(unit: CoalescedUnit<R>, limits: BatchLimits, now: number): boolean {
  return !isOpen(unit, limits) || now >= readyAt(unit, limits);
}

/** When `unit` becomes ready by time alone: `firstAt + maxWaitMs`. */
export function readyAt<R>(unit: CoalescedUnit<R>, limits: BatchLimits): number {
  return unit.firstAt + limits.maxWaitMs;
}

/**
 * Whether a partition whose queue is `queue` must stop fetching: it holds a unit that is not open (waiting
 * for credit, a retry or a redelivery), or more than one unit. A single open unit keeps fetching, so that
 * later records fill it; memory stays bounded by one unit plus one fetch.
 */
export function mustPause<R>(queue: readonly CoalescedUnit<R>[], limits: BatchLimits): boolean {
  if (queue.length === 0) return false;
  return queue.length > 1 || !isOpen(queue[0]!, limits);
}
