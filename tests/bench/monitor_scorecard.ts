/**
 * The market monitor's detection scorecard on seeded synthetic series: the synthetic market with injected
 * anomalies (jumps, volume spikes, gaps, volatility regimes) plus a second source of the same symbols that
 * tracks the first within 1 bp and sometimes diverges (1 %), all at known times. Every alert that opens is
 * matched to the injected anomaly of its kind on its symbol (an alert opening from the anomaly's first tick up
 * to `toleranceTicks` of that symbol's ticks after its end is a hit; one hit per anomaly, every other open is a
 * false positive). Detection delay is counted in the symbol's ticks from the anomaly's first tick (for a gap:
 * from the first tick that did not come). The second source copies the first, so the per-series detectors are
 * scored on the first source's alerts.
 *
 * @module
 */
import { SeededRandom } from "../../actors/sources/seeded_random.ts";
import { type InjectedAnomaly, SyntheticMarket } from "../../actors/sources/synthetic_market.ts";
import type { Tick } from "../../actors/sources/market_record.ts";
import type { Alert } from "../../actors/monitor/market_monitor.ts";

/** Which detector should find which injected kind. */
export const KIND_OF: Readonly<Record<string, string>> = {
  price_jump: "jump",
  volume_spike: "volume",
  stale_feed: "gap",
  volatility_regime: "volatility",
  source_divergence: "divergence",
};

/** Options of {@linkcode syntheticSeries}. */
export interface SeriesOptions {
  seed: number;
  /** Ticks of the primary source. */
  ticks: number;
  symbols?: string[];
  /** Ticks per second over all symbols (event time). */
  ratePerSecond?: number;
  /** Probability per tick that an anomaly starts. */
  rate?: number;
}

/** A labelled series: ticks in publish order and the anomalies injected into them. */
export interface LabelledSeries {
  ticks: Tick[];
  anomalies: InjectedAnomaly[];
  /** Each symbol's tick spacing, ms. */
  stepMs: number;
}

const SECOND_SOURCE = "synthetic-b";
const DIVERGENCE_TICKS = 20;

/** The seeded series: one source with injected anomalies and a second source that sometimes diverges. */
export function syntheticSeries(o: SeriesOptions): LabelledSeries {
  const symbols = o.symbols ?? ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT"];
  const rate = o.ratePerSecond ?? 10;
  const anomalies: InjectedAnomaly[] = [];
  const market = new SyntheticMarket({
    symbols,
    seed: o.seed,
    ratePerSecond: rate,
    startTs: Date.UTC(2026, 0, 5),
    anomalies: { rate: o.rate ?? 0.002 },
    onAnomaly: (a) => anomalies.push(a),
  });
  const rng = new SeededRandom(o.seed + 2);
  const diverging = new Map<string, number>();
  const stepMs = (1000 * symbols.length) / rate;
  const ticks: Tick[] = [];
  while (market.count < o.ticks) {
    const t = market.next();
    ticks.push(t);
    // The second source quotes the same instrument a few ms later, within 1 bp, except while diverging.
    let left = diverging.get(t.symbol) ?? 0;
    if (left === 0 && rng.next() < (o.rate ?? 0.002) / 4) {
      left = DIVERGENCE_TICKS;
      anomalies.push({
        kind: "jump" as never,
        symbol: t.symbol,
        ts: t.ts + 3,
        endTs: t.ts + 3 + (DIVERGENCE_TICKS - 1) * stepMs,
      });
      anomalies.at(-1)!.kind = "divergence" as never;
    }
    const factor = 1 + (rng.next() - 0.5) * 1e-4 + (left > 0 ? 0.01 : 0);
    if (left > 0) diverging.set(t.symbol, left - 1);
    ticks.push({
      ...t,
      source: SECOND_SOURCE,
      ts: t.ts + 3,
      price: Math.round(t.price * factor * 1e6) / 1e6,
    });
  }
  return { ticks, anomalies, stepMs };
}

/** Scores of one detector. */
export interface DetectorScore {
  detector: string;
  injected: number;
  detected: number;
  falsePositives: number;
  precision: number;
  recall: number;
  /** Mean delay in the symbol's ticks; NaN when nothing was detected. */
  meanDelayTicks: number;
}

/** Matches opened alerts to injected anomalies; see the module doc. */
export function score(
  series: LabelledSeries,
  alerts: Alert[],
  toleranceTicks = 10,
): DetectorScore[] {
  return Object.entries(KIND_OF).map(([detector, kind]) => {
    const truth = series.anomalies.filter((a) => (a.kind as string) === kind);
    // The second source copies the first (jumps, spikes and gaps included): only the first is labelled.
    const opens = alerts.filter((a) =>
      a.rule === detector && a.status === "OPEN" &&
      (kind === "divergence" || a.attributes.source === series.ticks[0]?.source)
    );
    const hit = new Map<InjectedAnomaly, number>();
    let fp = 0;
    for (const alert of opens) {
      const match = truth.find((a) =>
        a.symbol === alert.symbol && alert.ts >= a.ts && alert.ts <= a.endTs + toleranceTicks * series.stepMs
      );
      if (!match || hit.has(match)) fp++;
      else hit.set(match, (alert.ts - match.ts) / series.stepMs);
    }
    const delays = [...hit.values()];
    return {
      detector,
      injected: truth.length,
      detected: hit.size,
      falsePositives: fp,
      precision: hit.size + fp === 0 ? NaN : hit.size / (hit.size + fp),
      recall: truth.length === 0 ? NaN : hit.size / truth.length,
      meanDelayTicks: delays.length === 0 ? NaN : delays.reduce((s, d) => s + d, 0) / delays.length,
    };
  });
}
