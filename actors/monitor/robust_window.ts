/**
 * A fixed-size rolling window of numbers kept sorted as well as in arrival order, for robust statistics
 * (median and MAD) in O(n) per update. Its state is plain data (arrays of numbers), so a detector that holds
 * one can be checkpointed as JSON and restored exactly.
 *
 * @module
 */

/** The window's plain, JSON-serialisable state. */
export interface RobustWindowState {
  /** Values in arrival order, oldest first. */
  values: number[];
  /** The same values, ascending. */
  sorted: number[];
}

/** The scale factor that makes the MAD a consistent estimator of σ for normal data. */
export const MAD_TO_SIGMA = 1.4826;

/** An empty window state. */
export function emptyWindow(): RobustWindowState {
  return { values: [], sorted: [] };
}

/**
 * Appends `x`, dropping the oldest value once the window holds `size` values.
 * @throws {RangeError} when `x` is not finite (a NaN would corrupt the order)
 */
export function pushWindow(w: RobustWindowState, x: number, size: number): void {
  if (!Number.isFinite(x)) throw new RangeError(`Cannot add ${x} to a robust window: not a finite number`);
  w.values.push(x);
  w.sorted.splice(lowerBound(w.sorted, x), 0, x);
  while (w.values.length > size) {
    const old = w.values.shift()!;
    w.sorted.splice(lowerBound(w.sorted, old), 1);
  }
}

/** The median of the window (NaN when empty). */
export function windowMedian(w: RobustWindowState): number {
  return median(w.sorted);
}

/**
 * The median absolute deviation from the median (NaN when empty); multiply by {@link MAD_TO_SIGMA} for σ.
 * Walks outwards from the median through the sorted values (the deviations on each side are already in
 * order), so it takes O(n) and allocates nothing.
 */
export function windowMad(w: RobustWindowState): number {
  const a = w.sorted;
  const n = a.length;
  if (n === 0) return NaN;
  const m = median(a);
  // Next deviation on the left (index i, going down) and on the right (index j, going up); for odd n the
  // median element itself is the smallest deviation (0) and is counted as rank 0.
  let i = (n >> 1) - 1, j = n % 2 === 1 ? (n >> 1) + 1 : n >> 1;
  const take = () => {
    const left = i >= 0 ? m - a[i]! : Infinity;
    const right = j < n ? a[j]! - m : Infinity;
    if (left <= right) {
      i--;
      return left;
    }
    j++;
    return right;
  };
  // The k-th smallest deviations, k = the middle rank(s) of n deviations.
  const odd = n % 2 === 1;
  const target = n >> 1; // 0-based rank of the upper middle
  let rank = odd ? 1 : 0, prev = 0, cur = 0;
  if (odd && target === 0) return 0;
  while (rank <= target) {
    prev = cur;
    cur = take();
    rank++;
  }
  return odd ? cur : (prev + cur) / 2;
}

function median(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function lowerBound(a: number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
