/**
 * Stale feed: a series that has sent nothing for longer than its learned typical gap allows. The typical gap is
 * the median of the series' last `window` inter-arrival gaps (gaps past the threshold are not learned, so an
 * outage does not teach the detector that outages are normal); the threshold is `multiple` × that median, at
 * least `minGapMs`. Esper's feed-monitor example raises the same alert for a feed whose rate drops.
 *
 * Driven by event time only: {@link check} is called with the clock of the series' source on its partition (the
 * largest event time seen there), and {@link step} with each tick of the series. The alert opens at the instant
 * the series became stale (last tick + threshold, counting only market hours when the symbol has them) and
 * resolves at the next tick — the same alert whether the clock or the late tick reveals the gap.
 *
 * @module
 */
import { z } from "zod";
import type { InputRef, Observation, Signal } from "./detector.ts";
import { MARKET_HOURS_PRESETS, MarketHours, staleInstant } from "./market_hours.ts";
import { emptyWindow, pushWindow, type RobustWindowState, windowMedian } from "./robust_window.ts";

/** Detector name. */
export const NAME = "stale_feed";
/** Behaviour version. */
export const VERSION = 1;

/** Parameters of the stale-feed detector. */
export const StaleFeedParams = z.object({
  /** Gaps kept to learn the typical gap. */
  window: z.number().int().min(3).default(50),
  /** Gaps needed before it judges. */
  minSamples: z.number().int().min(2).default(20),
  /** Stale after this many typical gaps… */
  multiple: z.number().gt(1).default(4),
  /** …and never sooner than this, ms. */
  minGapMs: z.number().int().min(0).default(1_000),
  /** Trading sessions (a preset name such as `us-equities`, or a session); none = always open. */
  marketHours: z.union([z.enum(Object.keys(MARKET_HOURS_PRESETS) as [string, ...string[]]), MarketHours])
    .nullable().default(null),
}).strict();

/** The validated parameters. */
export type StaleFeedParams = z.infer<typeof StaleFeedParams>;

/** Plain state of one series. */
export interface StaleFeedState {
  lastTs: number | null;
  lastRef: InputRef | null;
  gaps: RobustWindowState;
  /** The series is stale (an alert is open) since this instant. */
  staleSince: number | null;
}

/** A fresh state. */
export function initial(): StaleFeedState {
  return { lastTs: null, lastRef: null, gaps: emptyWindow(), staleSince: null };
}

function hoursOf(p: StaleFeedParams): MarketHours | null {
  return typeof p.marketHours === "string" ? MARKET_HOURS_PRESETS[p.marketHours]! : p.marketHours;
}

/** The gap after which the series is stale, ms; undefined while learning. */
export function thresholdMs(s: StaleFeedState, p: StaleFeedParams): number | undefined {
  if (s.gaps.values.length < p.minSamples) return undefined;
  return Math.max(p.minGapMs, p.multiple * windowMedian(s.gaps));
}

/**
 * The clock of the series' source moved to `now`: fires once the series has been silent past its threshold.
 * Returns undefined when nothing changed (not stale yet, already stale, or still learning).
 */
export function check(
  s: StaleFeedState,
  now: number,
  series: { symbol: string; source: string },
  p: StaleFeedParams,
): Signal | undefined {
  if (s.lastTs === null || s.staleSince !== null) return undefined;
  const threshold = thresholdMs(s, p);
  if (threshold === undefined) return undefined;
  const at = staleInstant(hoursOf(p), s.lastTs, threshold);
  if (now < at) return undefined;
  s.staleSince = at;
  return staleSignal(s, at, threshold, series, true, undefined);
}

/** A tick of the series arrived: learns its gap, reveals a gap that went unseen, and ends a stale period. */
export function step(s: StaleFeedState, o: Observation, p: StaleFeedParams): Signal[] {
  const out: Signal[] = [];
  if (s.lastTs !== null && o.ts > s.lastTs) {
    const threshold = thresholdMs(s, p);
    if (threshold !== undefined) {
      const at = staleInstant(hoursOf(p), s.lastTs, threshold);
      if (s.staleSince === null && o.ts >= at) {
        // The clock never passed the threshold (no other tick on the partition): the tick itself reveals it.
        s.staleSince = at;
        out.push(staleSignal(s, at, threshold, o, true, undefined));
      }
      if (s.staleSince !== null) out.push(staleSignal(s, o.ts, threshold, o, false, o.ref));
      else pushWindow(s.gaps, o.ts - s.lastTs, p.window);
    } else {
      pushWindow(s.gaps, o.ts - s.lastTs, p.window);
    }
  }
  if (s.lastTs === null || o.ts >= s.lastTs) {
    s.lastTs = o.ts;
    s.lastRef = o.ref;
  }
  s.staleSince = out.length > 0 && !out.at(-1)!.firing ? null : s.staleSince;
  return out;
}

function staleSignal(
  s: StaleFeedState,
  ts: number,
  threshold: number,
  series: { symbol: string; source: string },
  firing: boolean,
  resumed: InputRef | undefined,
): Signal {
  const last = s.lastTs!;
  const typical = windowMedian(s.gaps);
  const silent = ts - last;
  return {
    firing,
    ts,
    severity: "WARNING",
    value: silent,
    threshold,
    message: firing
      ? `${series.symbol} (${series.source}) stale: no tick since ${new Date(last).toISOString()} ` +
        `(threshold ${threshold} ms, typical gap ${typical} ms)`
      : `${series.symbol} (${series.source}) resumed after ${silent} ms`,
    observed: { lastTickTs: last, silentMs: silent, typicalGapMs: typical },
    inputs: [...(s.lastRef ? [s.lastRef] : []), ...(resumed ? [resumed] : [])],
  };
}
