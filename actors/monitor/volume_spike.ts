/**
 * Volume spike: the volume traded since the series' previous tick (the increase of the source's windowed
 * volume) against a per-series rolling baseline — the median of the last `window` increases. Fires when an
 * increase is at least `multiple` times the baseline and its robust z-score is at least `minZ` (so a series
 * whose volume is very regular does not alert on ordinary variation). A decrease (the source's 24 h window
 * rolling over) is no trade and is skipped. An increase over a longer gap than the series' typical one is
 * divided by `gap/typical`, so the volume that piled up during a stall is not a spike.
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

/** Detector name. */
export const NAME = "volume_spike";
/** Behaviour version. */
export const VERSION = 1;

/** Parameters of the volume-spike detector. */
export const VolumeSpikeParams = z.object({
  /** Increases kept for the baseline. */
  window: z.number().int().min(5).default(100),
  /** Increases needed before it judges. */
  minSamples: z.number().int().min(3).default(30),
  /** Increase ÷ baseline median at or above which it fires. */
  multiple: z.number().gt(1).default(8),
  /** Robust z-score the increase must also reach. */
  minZ: z.number().min(0).default(6),
}).strict();

/** The validated parameters. */
export type VolumeSpikeParams = z.infer<typeof VolumeSpikeParams>;

/** Plain state of one series. */
export interface VolumeSpikeState {
  lastVolume: number | null;
  lastTs: number | null;
  /** EWMA of the gaps between ticks with a volume, ms. */
  typicalGap: number | null;
  lastRef: Observation["ref"] | null;
  increases: RobustWindowState;
}

/** A fresh state. */
export function initial(): VolumeSpikeState {
  return { lastVolume: null, lastTs: null, typicalGap: null, lastRef: null, increases: emptyWindow() };
}

/** Judges one tick; undefined without a volume, on a decrease, or while warming up. */
export function step(s: VolumeSpikeState, o: Observation, p: VolumeSpikeParams): Signal | undefined {
  if (o.volume === null || !Number.isFinite(o.volume)) return undefined;
  const prev = s.lastVolume, prevRef = s.lastRef, prevTs = s.lastTs;
  s.lastVolume = o.volume;
  s.lastRef = o.ref;
  s.lastTs = o.ts;
  if (prev === null || prevTs === null || o.volume < prev) return undefined;
  const gap = Math.max(0, o.ts - prevTs);
  const stretch = s.typicalGap !== null && s.typicalGap > 0 ? Math.max(1, gap / s.typicalGap) : 1;
  s.typicalGap = s.typicalGap === null ? gap : 0.95 * s.typicalGap + 0.05 * Math.min(gap, 10 * s.typicalGap);
  const increase = (o.volume - prev) / stretch;
  let signal: Signal | undefined;
  if (s.increases.values.length >= p.minSamples) {
    const baseline = windowMedian(s.increases);
    const scale = Math.max(MAD_TO_SIGMA * windowMad(s.increases), 1e-12);
    const multiple = baseline > 0 ? increase / baseline : increase > 0 ? Infinity : 0;
    const zScore = (increase - baseline) / scale;
    const firing = multiple >= p.multiple && zScore >= p.minZ;
    const shown = Number.isFinite(multiple) ? multiple : Number.MAX_VALUE;
    signal = {
      firing,
      ts: o.ts,
      severity: severityOf(shown, p.multiple, 3),
      value: shown,
      threshold: p.multiple,
      message: `${o.symbol} (${o.source}) traded ${increase.toPrecision(4)} in one tick, ` +
        `${Number.isFinite(multiple) ? multiple.toFixed(1) : "∞"}× its baseline ${baseline.toPrecision(4)}`,
      observed: { increase, baseline, z: zScore, volume: o.volume },
      inputs: prevRef ? [prevRef, o.ref] : [o.ref],
    };
  }
  pushWindow(s.increases, increase, p.window);
  return signal;
}
