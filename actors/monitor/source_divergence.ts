/**
 * Cross-source divergence: the same symbol quoted by two sources (e.g. CryptoCompare and Twelve Data) whose
 * latest prices differ by more than `thresholdBps` of their mid for `minTicks` ticks in a row. Only prices at
 * most `maxAgeMs` apart in event time are compared (a stale quote is the stale-feed detector's business). Both
 * sources' ticks carry the symbol as their key, so they share a partition and arrive in one order.
 *
 * @module
 */
import { z } from "zod";
import { type InputRef, type Observation, severityOf, type Signal } from "./detector.ts";

/** Detector name. */
export const NAME = "source_divergence";
/** Behaviour version. */
export const VERSION = 1;

/** Parameters of the divergence detector. */
export const SourceDivergenceParams = z.object({
  /** |price difference| ÷ mid, basis points, at or above which the sources diverge. */
  thresholdBps: z.number().positive().default(50),
  /** Consecutive diverging comparisons before it fires (and calm ones before it clears). */
  minTicks: z.number().int().min(1).default(2),
  /** Compare prices at most this far apart in event time, ms. */
  maxAgeMs: z.number().int().min(0).default(5_000),
}).strict();

/** The validated parameters. */
export type SourceDivergenceParams = z.infer<typeof SourceDivergenceParams>;

/** Plain state of one symbol: the latest price per source, and per source pair the run of diverging ticks. */
export interface SourceDivergenceState {
  latest: Record<string, { ts: number; price: number; ref: InputRef }>;
  runs: Record<string, { diverging: number; calm: number; firing: boolean }>;
}

/** A fresh state. */
export function initial(): SourceDivergenceState {
  return { latest: {}, runs: {} };
}

/** The pair key of two sources, in a stable order (`a|b`, a < b). */
export function pairOf(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Compares a tick with the latest price of each other source of its symbol; one signal per pair compared. */
export function step(
  s: SourceDivergenceState,
  o: Observation,
  p: SourceDivergenceParams,
): { pair: string; signal: Signal | undefined }[] {
  if (!(o.price > 0)) return [];
  s.latest[o.source] = { ts: o.ts, price: o.price, ref: o.ref };
  const out: { pair: string; signal: Signal | undefined }[] = [];
  for (const other of Object.keys(s.latest).sort()) {
    if (other === o.source) continue;
    const q = s.latest[other]!;
    if (Math.abs(o.ts - q.ts) > p.maxAgeMs) continue;
    const pair = pairOf(o.source, other);
    const run = s.runs[pair] ??= { diverging: 0, calm: 0, firing: false };
    const mid = (o.price + q.price) / 2;
    const bps = (10_000 * Math.abs(o.price - q.price)) / mid;
    if (bps >= p.thresholdBps) {
      run.diverging++;
      run.calm = 0;
    } else {
      run.calm++;
      run.diverging = 0;
    }
    if (!run.firing && run.diverging >= p.minTicks) run.firing = true;
    else if (run.firing && run.calm >= p.minTicks) run.firing = false;
    out.push({
      pair,
      signal: {
        firing: run.firing,
        ts: o.ts,
        severity: severityOf(bps, p.thresholdBps),
        value: bps,
        threshold: p.thresholdBps,
        message: `${o.symbol}: ${o.source} ${o.price} vs ${other} ${q.price} differ by ${bps.toFixed(1)} bps`,
        observed: { bps, [`price.${o.source}`]: o.price, [`price.${other}`]: q.price, ageMs: o.ts - q.ts },
        inputs: [q.ref, o.ref],
      },
    });
  }
  return out;
}
