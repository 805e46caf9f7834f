/**
 * A pure, deterministic OHLCV bar aggregator by event time.
 *
 * Prices (ticks or trades) are folded into one open bar per (symbol, source, interval, bar start). Each
 * (symbol, source) series has its own **watermark**: the largest event time seen in that series minus the
 * allowed lateness. A bar `[start, start + interval)` closes — and is returned by {@linkcode BarAggregator.add}
 * — once the watermark reaches its end. A price whose bar has already closed (its event time is below the
 * series' watermark's bar) is **late**: it changes nothing and is returned as such, for the caller to
 * dead-letter (see docs/agents.md, "bar-builder", for why late prices are not amended into re-published bars).
 *
 * The watermark is per series, not global, so the output does not depend on how series interleave (partition
 * assignment, consumer instances): the same prices of one series in the same order give the same bars, in the
 * same order, whatever else is fed in between. No clock is read.
 *
 * @module
 */
import type { Bar } from "../sources/market_record.ts";

/** A bar interval: a positive count of `s`, `m`, `h` or `d`, e.g. `1s`, `1m`, `5m`, `1h`, `1d`. */
export const INTERVAL_PATTERN = /^([1-9][0-9]*)(s|m|h|d)$/;

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The length of an interval in milliseconds.
 * @throws {RangeError} naming the interval when it is not like `1s`, `1m`, `5m`, `1h`, `1d`
 */
export function intervalMs(interval: string): number {
  const m = INTERVAL_PATTERN.exec(interval);
  if (!m) {
    throw new RangeError(`Invalid bar interval "${interval}": expected a count and s, m, h or d (e.g. 1m)`);
  }
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** One price observation: a tick's last price, or a trade (with its `size`). */
export interface PricePoint {
  symbol: string;
  source: string;
  exchange?: string | null;
  /** Event time, milliseconds since the epoch. */
  ts: number;
  price: number;
  /** Traded quantity; absent for quotes (a tick's `volume` is the source's 24 h window, not a trade size). */
  size?: number | null;
}

/** A bar, shaped as the `market.bar` v1 schema (one type for the sources' bars and the aggregator's). */
export type { Bar };

/** What {@linkcode BarAggregator.add} did with one price. */
export interface AddResult {
  /** The price's event time was below its series' closed bars: nothing changed. */
  late: boolean;
  /** Bars closed by the price's advance of the watermark, by interval (as configured) then start. */
  closed: Bar[];
}

/** Options of a {@linkcode BarAggregator}. */
export interface BarAggregatorOptions {
  /** Intervals to build, e.g. `["1s", "1m", "5m"]`; at least one, no duplicates. */
  intervals: string[];
  /** How far behind the largest event time seen a price may be and still count, ms (≥ 0). */
  allowedLatenessMs: number;
}

interface OpenBar {
  bar: Bar;
  /** Event time of the price that set `open` / `close` (ties: the first / the last one added). */
  openTs: number;
  closeTs: number;
}

interface Series {
  maxTs: number;
  /** Per interval index: open bars by start. */
  open: Map<number, OpenBar>[];
  /** Per interval index: every bar ending at or before this is closed (raised by {@linkcode BarAggregator.flush}). */
  closedUpTo: number[];
}

/** Builds bars from prices; see the module doc. Not thread-safe; one instance per consumer. */
export class BarAggregator {
  readonly #intervals: { name: string; ms: number }[];
  readonly #lateness: number;
  readonly #series = new Map<string, Series>();

  /** @throws {RangeError} when an interval is invalid or repeated, or the lateness is negative */
  constructor(options: BarAggregatorOptions) {
    if (options.intervals.length === 0) throw new RangeError("A bar aggregator needs at least one interval");
    if (new Set(options.intervals).size !== options.intervals.length) {
      throw new RangeError(`Repeated bar interval in ${JSON.stringify(options.intervals)}`);
    }
    if (!Number.isFinite(options.allowedLatenessMs) || options.allowedLatenessMs < 0) {
      throw new RangeError(`Invalid allowed lateness ${options.allowedLatenessMs} ms: expected ≥ 0`);
    }
    this.#intervals = options.intervals.map((name) => ({ name, ms: intervalMs(name) }));
    this.#lateness = options.allowedLatenessMs;
  }

  /**
   * The watermark of a series: its largest event time minus the allowed lateness; undefined before any price.
   */
  watermark(symbol: string, source: string): number | undefined {
    const s = this.#series.get(seriesKey(symbol, source));
    return s ? s.maxTs - this.#lateness : undefined;
  }

  /** Number of bars open (not yet closed), over all series and intervals. */
  get openBars(): number {
    let n = 0;
    for (const s of this.#series.values()) for (const m of s.open) n += m.size;
    return n;
  }

  /**
   * Folds one price in and closes the bars the watermark has passed.
   *
   * @throws {RangeError} naming the field when `ts` or `price` is not a finite number, or `size` is negative
   */
  add(point: PricePoint): AddResult {
    if (!Number.isFinite(point.ts)) throw new RangeError(`Invalid price point: ts ${point.ts} is not finite`);
    if (!Number.isFinite(point.price)) {
      throw new RangeError(`Invalid price point: price ${point.price} is not finite`);
    }
    const size = point.size ?? null;
    if (size !== null && !(Number.isFinite(size) && size >= 0)) {
      throw new RangeError(`Invalid price point: size ${size} is not a finite number ≥ 0`);
    }
    const key = seriesKey(point.symbol, point.source);
    let series = this.#series.get(key);
    if (!series) {
      series = {
        maxTs: point.ts,
        open: this.#intervals.map(() => new Map()),
        closedUpTo: this.#intervals.map(() => -Infinity),
      };
      this.#series.set(key, series);
    }
    const watermark = series.maxTs - this.#lateness;
    // Late: the price's bar of any interval has closed (so the intervals stay consistent with each other).
    const closedEnd = (i: number) => Math.max(watermark, series.closedUpTo[i]!);
    if (this.#intervals.some((iv, i) => alignedStart(point.ts, iv.ms) + iv.ms <= closedEnd(i))) {
      return { late: true, closed: [] };
    }
    this.#intervals.forEach((iv, i) => fold(series.open[i]!, iv, point, size));
    if (point.ts > series.maxTs) series.maxTs = point.ts;
    return { late: false, closed: this.#close(series) };
  }

  /**
   * Closes and returns every open bar (e.g. at the end of a replay), in the order {@linkcode add} would.
   * The series keep their watermarks: a later price for a flushed bar is late.
   */
  flush(): Bar[] {
    const out: Bar[] = [];
    for (const s of this.#series.values()) out.push(...this.#close(s, Infinity));
    return out;
  }

  #close(series: Series, upTo = series.maxTs - this.#lateness): Bar[] {
    const out: Bar[] = [];
    this.#intervals.forEach((iv, i) => {
      const open = series.open[i]!;
      const starts = [...open.keys()].filter((start) => start + iv.ms <= upTo).sort((a, b) => a - b);
      for (const start of starts) {
        out.push(open.get(start)!.bar);
        open.delete(start);
        series.closedUpTo[i] = Math.max(series.closedUpTo[i]!, start + iv.ms);
      }
    });
    return out;
  }
}

function fold(
  open: Map<number, OpenBar>,
  iv: { name: string; ms: number },
  p: PricePoint,
  size: number | null,
) {
  const start = alignedStart(p.ts, iv.ms);
  const found = open.get(start);
  if (!found) {
    open.set(start, {
      openTs: p.ts,
      closeTs: p.ts,
      bar: {
        symbol: p.symbol,
        source: p.source,
        exchange: p.exchange ?? null,
        interval: iv.name,
        ts: start,
        open: p.price,
        high: p.price,
        low: p.price,
        close: p.price,
        volume: size ?? 0,
        trades: size === null ? null : 1,
      },
    });
    return;
  }
  const b = found.bar;
  // Out of order within the lateness: open/close follow event time, not arrival.
  if (p.ts < found.openTs) {
    found.openTs = p.ts;
    b.open = p.price;
  }
  if (p.ts >= found.closeTs) {
    found.closeTs = p.ts;
    b.close = p.price;
  }
  if (p.price > b.high) b.high = p.price;
  if (p.price < b.low) b.low = p.price;
  if (size !== null) {
    b.volume += size;
    b.trades = (b.trades ?? 0) + 1;
  }
  if (b.exchange === null && p.exchange) b.exchange = p.exchange;
}

/** Start of the epoch-aligned interval holding `ts` (negative times round down too). */
function alignedStart(ts: number, ms: number): number {
  return Math.floor(ts / ms) * ms;
}

function seriesKey(symbol: string, source: string): string {
  return JSON.stringify([symbol, source]);
}
