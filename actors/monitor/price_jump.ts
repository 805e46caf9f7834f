/**
 * Price jump: the robust z-score of a tick's log return against the previous `window` returns of its series,
 * `z = (r − median) / (1.4826 · MAD)`. Median and MAD ignore the outliers they are looking for, so a jump
 * neither hides itself nor the next one (a mean/σ z-score is inflated by the jump it should flag). Fires while
 * `|z| ≥ threshold`; silent until `minSamples` returns are in the window. The scale has a floor (`minScale`) so
 * a series that did not move (MAD 0, e.g. a quote repeated) does not turn every tick-size move into a jump.
 *
 * Two refinements keep it honest on real feeds: a return over a longer gap than the series' typical one is
 * scaled by `1/√(gap/typical)` (Brownian scaling: a quiet minute after a stall is no jump), and the scale is at
 * least the series' fast EWMA volatility (λ = `lambda`, fed with returns clipped at half the threshold), so the
 * first minutes of a volatile regime, before the window catches up, are not a run of "jumps" (as local
 * volatility does in Lee–Mykland's jump test).
 *
 * @module
 */
import { z } from "zod";
import { type Observation, severityOf, type Signal } from "./detector.ts";
import {
  emptyWindow,
  MAD_TO_SIGMA,
  pushWindow,
  type RobustWindowState,
  windowMad,
  windowMedian,
} from "./robust_window.ts";

/** Detector name (the alert's `rule`). */
export const NAME = "price_jump";
/** Bumped when the detector's behaviour changes (alerts carry it). */
export const VERSION = 1;

/** Parameters of the price-jump detector. */
export const PriceJumpParams = z.object({
  /** Returns kept for the median/MAD. */
  window: z.number().int().min(5).default(100),
  /** Returns needed before it judges. */
  minSamples: z.number().int().min(3).default(30),
  /** |robust z| at or above which a return is a jump. */
  threshold: z.number().positive().default(8),
  /** Floor of the return scale (1.4826 · MAD), in log-return units. */
  minScale: z.number().min(0).default(1e-6),
  /** Decay of the fast EWMA volatility that floors the scale. */
  lambda: z.number().gt(0).lt(1).default(0.94),
}).strict();

/** The validated parameters. */
export type PriceJumpParams = z.infer<typeof PriceJumpParams>;

/** Plain state of one series. */
export interface PriceJumpState {
  lastPrice: number | null;
  lastTs: number | null;
  /** EWMA of the gaps between ticks, ms. */
  typicalGap: number | null;
  /** EWMA variance of (clipped) returns. */
  ewmaVar: number | null;
  lastRef: Observation["ref"] | null;
  returns: RobustWindowState;
}

/** A fresh state. */
export function initial(): PriceJumpState {
  return {
    lastPrice: null,
    lastTs: null,
    typicalGap: null,
    ewmaVar: null,
    lastRef: null,
    returns: emptyWindow(),
  };
}

/** Judges one tick; undefined while warming up or for a non-positive price. */
export function step(s: PriceJumpState, o: Observation, p: PriceJumpParams): Signal | undefined {
  if (!(o.price > 0)) return undefined;
  const prev = s.lastPrice, prevRef = s.lastRef, prevTs = s.lastTs;
  s.lastPrice = o.price;
  s.lastRef = o.ref;
  s.lastTs = o.ts;
  if (prev === null || prevTs === null) return undefined;
  const gap = Math.max(0, o.ts - prevTs);
  const stretch = s.typicalGap !== null && s.typicalGap > 0 ? Math.max(1, gap / s.typicalGap) : 1;
  s.typicalGap = s.typicalGap === null ? gap : 0.95 * s.typicalGap + 0.05 * Math.min(gap, 10 * s.typicalGap);
  const raw = Math.log(o.price / prev);
  const r = raw / Math.sqrt(stretch);
  let signal: Signal | undefined;
  const madScale = s.returns.values.length > 0 ? MAD_TO_SIGMA * windowMad(s.returns) : 0;
  const scale = Math.max(madScale, Math.sqrt(s.ewmaVar ?? 0), p.minScale);
  if (s.returns.values.length >= p.minSamples) {
    const median = windowMedian(s.returns);
    const zScore = (r - median) / scale;
    const firing = Math.abs(zScore) >= p.threshold;
    signal = {
      firing,
      ts: o.ts,
      severity: severityOf(zScore, p.threshold),
      value: zScore,
      threshold: p.threshold,
      message: `${o.symbol} (${o.source}) moved ${(100 * (Math.exp(raw) - 1)).toFixed(3)}% in one tick ` +
        `(${prev} → ${o.price}): robust z ${zScore.toFixed(1)}, threshold ${p.threshold}`,
      observed: {
        return: raw,
        median,
        mad: madScale / MAD_TO_SIGMA,
        scale,
        z: zScore,
        price: o.price,
        previousPrice: prev,
      },
      inputs: prevRef ? [prevRef, o.ref] : [o.ref],
    };
  }
  const bound = (p.threshold / 2) * scale;
  const clipped = s.ewmaVar === null ? r : Math.max(-bound, Math.min(bound, r));
  s.ewmaVar = s.ewmaVar === null
    ? clipped * clipped
    : p.lambda * s.ewmaVar + (1 - p.lambda) * clipped * clipped;
  pushWindow(s.returns, r, p.window);
  return signal;
}
