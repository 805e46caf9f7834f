/**
 * Volatility regime: RiskMetrics-style EWMA variance of log returns, `σ²ₜ = λ·σ²ₜ₋₁ + (1 − λ)·rₜ²`, against its
 * long-run level (the same recursion with a slow `longLambda`). The ratio `σ/σ_long` enters the high regime at
 * `enter` and leaves it only below `exit` (hysteresis, so a ratio hovering at the threshold does not flap).
 * Returns are winsorised at `clip`·σ_long before they enter either average, so one price jump (the price-jump
 * detector's business) does not read as a regime change; a sustained rise in volatility still does. The long-run
 * level holds still while the regime is high, so a long regime does not become the norm it is judged against.
 *
 * @module
 */
import { z } from "zod";
import { type Observation, severityOf, type Signal } from "./detector.ts";

/** Detector name. */
export const NAME = "volatility_regime";
/** Behaviour version. */
export const VERSION = 1;

/** Parameters of the volatility-regime detector. */
export const VolatilityRegimeParams = z.object({
  /** Decay of the short EWMA (RiskMetrics uses 0.94). */
  lambda: z.number().gt(0).lt(1).default(0.94),
  /** Decay of the long-run level. */
  longLambda: z.number().gt(0).lt(1).default(0.999),
  /** Returns needed before it judges. */
  minSamples: z.number().int().min(2).default(200),
  /** σ/σ_long at or above which the high regime starts. */
  enter: z.number().gt(1).default(2),
  /** σ/σ_long below which it ends (must be below `enter`; checked with the monitor config). */
  exit: z.number().gt(0).default(1.4),
  /** Winsorise returns at this many long-run σ. */
  clip: z.number().gt(0).default(6),
}).strict();

/** The validated parameters. */
export type VolatilityRegimeParams = z.infer<typeof VolatilityRegimeParams>;

/** Plain state of one series. */
export interface VolatilityRegimeState {
  lastPrice: number | null;
  samples: number;
  shortVar: number;
  longVar: number;
  high: boolean;
}

/** A fresh state. */
export function initial(): VolatilityRegimeState {
  return { lastPrice: null, samples: 0, shortVar: 0, longVar: 0, high: false };
}

/** Judges one tick; undefined while warming up. */
export function step(
  s: VolatilityRegimeState,
  o: Observation,
  p: VolatilityRegimeParams,
): Signal | undefined {
  if (!(o.price > 0)) return undefined;
  const prev = s.lastPrice;
  s.lastPrice = o.price;
  if (prev === null) return undefined;
  const raw = Math.log(o.price / prev);
  s.samples++;
  if (s.samples === 1) {
    s.shortVar = s.longVar = raw * raw;
    return undefined;
  }
  const bound = p.clip * Math.sqrt(s.longVar);
  const r = s.longVar > 0 ? Math.max(-bound, Math.min(bound, raw)) : raw;
  s.shortVar = p.lambda * s.shortVar + (1 - p.lambda) * r * r;
  // During the warm-up the long level learns faster (a running mean), so it starts from the data, not from 0.
  // While the regime is high the long-run level holds still (else a long regime would become the norm).
  const w = s.samples < p.minSamples ? 1 / s.samples : s.high ? 0 : 1 - p.longLambda;
  s.longVar = (1 - w) * s.longVar + w * r * r;
  if (s.samples < p.minSamples || s.longVar <= 0) return undefined;
  const ratio = Math.sqrt(s.shortVar / s.longVar);
  s.high = s.high ? ratio >= p.exit : ratio >= p.enter;
  return {
    firing: s.high,
    ts: o.ts,
    severity: severityOf(ratio, p.enter, 1.6),
    value: ratio,
    threshold: p.enter,
    message: `${o.symbol} (${o.source}) volatility ${ratio.toFixed(2)}× its long-run level ` +
      `(enter ${p.enter}, exit ${p.exit})`,
    observed: {
      ratio,
      ewmaVolatility: Math.sqrt(s.shortVar),
      longRunVolatility: Math.sqrt(s.longVar),
      return: raw,
    },
    inputs: [o.ref],
  };
}
