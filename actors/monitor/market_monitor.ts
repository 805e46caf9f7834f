/**
 * The market monitor's core: runs every detector on each tick of a partition and turns their signals into
 * alerts with a lifecycle ({@link advance}) and provenance. State is kept per partition as one plain,
 * JSON-serialisable object — what the agent checkpoints and restores — and nothing reads a clock: the same
 * ticks of a partition in the same order give the same alerts, byte for byte, whichever process runs them.
 *
 * Event time for the stale-feed detector is the clock of each source on the partition (the largest event time
 * of that source's ticks there), so a silent symbol is noticed as the partition's other symbols move on, or at
 * the latest when it ticks again.
 *
 * @module
 */
import { advance, initialLifecycle, type LifecycleEvent, type LifecycleState } from "./alert_lifecycle.ts";
import type { InputRef, Observation, Signal } from "./detector.ts";
import {
  DETECTOR_NAMES,
  DETECTOR_VERSIONS,
  type DetectorName,
  type DetectorSettings,
  type MonitorDetectorsConfig,
  settingsFor,
} from "./monitor_config.ts";
import * as priceJump from "./price_jump.ts";
import * as sourceDivergence from "./source_divergence.ts";
import * as staleFeed from "./stale_feed.ts";
import * as volatilityRegime from "./volatility_regime.ts";
import * as volumeSpike from "./volume_spike.ts";

/** An alert, shaped as the `market.alert` v2 schema. */
export interface Alert {
  id: string;
  ts: number;
  symbol: string | null;
  source: string;
  rule: string;
  severity: "INFO" | "WARNING" | "CRITICAL";
  message: string;
  value: number | null;
  threshold: number | null;
  attributes: Record<string, string>;
  status: "OPEN" | "UPDATE" | "RESOLVE";
  dedupKey: string;
  sequence: number;
  openedTs: number;
  detectorVersion: number;
  parameters: string;
  inputs: InputRef[];
  observed: Record<string, number>;
}

/** One series' (symbol, source) detector states. */
interface SeriesState {
  symbol: string;
  source: string;
  price_jump: priceJump.PriceJumpState;
  volatility_regime: volatilityRegime.VolatilityRegimeState;
  volume_spike: volumeSpike.VolumeSpikeState;
  stale_feed: staleFeed.StaleFeedState;
}

/** Everything the monitor knows about one partition; plain data (checkpointed as JSON). */
export interface PartitionState {
  /** Per source: the largest event time seen on the partition. */
  clocks: Record<string, number>;
  series: Record<string, SeriesState>;
  /** Per symbol: the divergence detector's state. */
  symbols: Record<string, sourceDivergence.SourceDivergenceState>;
  lifecycles: Record<string, LifecycleState>;
}

/** Counts the monitor reports (the agent turns them into metrics). */
export interface MonitorCounts {
  suppressed: Partial<Record<DetectorName, number>>;
}

/** What raised the alerts: the agent's name, written to each alert's `source`. */
export interface MarketMonitorOptions {
  config: MonitorDetectorsConfig;
  agent: string;
}

/** Runs the detectors; see the module doc. */
export class MarketMonitor {
  readonly #config: MonitorDetectorsConfig;
  readonly #agent: string;
  readonly #partitions = new Map<string, PartitionState>();
  readonly #settings = new Map<string, DetectorSettings>();
  readonly #parameters = new Map<string, string>();
  /** Per partition and source: its series' keys, sorted (derived from the state; rebuilt when it changes). */
  readonly #bySource = new Map<string, Map<string, string[]>>();
  /** Suppressed signals by detector, since construction. */
  readonly counts: MonitorCounts = { suppressed: {} };

  constructor(options: MarketMonitorOptions) {
    this.#config = options.config;
    this.#agent = options.agent;
  }

  /** Whether the monitor holds state for a partition. */
  has(partition: string): boolean {
    return this.#partitions.has(partition);
  }

  /** The partition's state as plain data (JSON-serialisable); undefined when it holds none. */
  snapshot(partition: string): PartitionState | undefined {
    return this.#partitions.get(partition);
  }

  /** Replaces a partition's state (e.g. from a checkpoint). */
  restore(partition: string, state: PartitionState): void {
    this.#partitions.set(partition, state);
    this.#bySource.delete(partition);
  }

  /** Forgets a partition. */
  drop(partition: string): void {
    this.#partitions.delete(partition);
    this.#bySource.delete(partition);
  }

  /**
   * Runs every enabled detector on one tick and returns the alerts it causes, in a fixed order.
   * Its partition is `<o.ref.topic>/<o.ref.partition>`.
   */
  observe(o: Observation): Alert[] {
    const where = partitionOf(o.ref);
    const part = this.#partition(where);
    const out: Alert[] = [];
    const settings = this.#settingsFor(o.symbol);
    const seriesKey = `${o.symbol}\u0000${o.source}`;
    let series = part.series[seriesKey];
    if (!series) {
      series = part.series[seriesKey] = {
        symbol: o.symbol,
        source: o.source,
        price_jump: priceJump.initial(),
        volatility_regime: volatilityRegime.initial(),
        volume_spike: volumeSpike.initial(),
        stale_feed: staleFeed.initial(),
      };
      this.#bySource.delete(where);
    }
    // The source's clock moves: other series of that source may have gone stale.
    const clock = part.clocks[o.source];
    if (clock === undefined || o.ts > clock) {
      part.clocks[o.source] = o.ts;
      for (const key of this.#seriesOf(where, part, o.source)) {
        const other = part.series[key]!;
        if (key === seriesKey) continue;
        const s = this.#settingsFor(other.symbol).stale_feed;
        if (!s.enabled) continue;
        const signal = staleFeed.check(other.stale_feed, o.ts, other, s);
        if (signal) this.#emit(part, out, "stale_feed", other.symbol, other.source, signal);
      }
    }
    if (settings.price_jump.enabled) {
      const signal = priceJump.step(series.price_jump, o, settings.price_jump);
      if (signal) this.#emit(part, out, "price_jump", o.symbol, o.source, signal);
    }
    if (settings.volatility_regime.enabled) {
      const signal = volatilityRegime.step(series.volatility_regime, o, settings.volatility_regime);
      if (signal) this.#emit(part, out, "volatility_regime", o.symbol, o.source, signal);
    }
    if (settings.volume_spike.enabled) {
      const signal = volumeSpike.step(series.volume_spike, o, settings.volume_spike);
      if (signal) this.#emit(part, out, "volume_spike", o.symbol, o.source, signal);
    }
    if (settings.stale_feed.enabled) {
      for (const signal of staleFeed.step(series.stale_feed, o, settings.stale_feed)) {
        this.#emit(part, out, "stale_feed", o.symbol, o.source, signal);
      }
    }
    if (settings.source_divergence.enabled) {
      const state = part.symbols[o.symbol] ??= sourceDivergence.initial();
      for (const { pair, signal } of sourceDivergence.step(state, o, settings.source_divergence)) {
        if (signal) this.#emit(part, out, "source_divergence", o.symbol, pair, signal);
      }
    }
    return out;
  }

  #partition(partition: string): PartitionState {
    let part = this.#partitions.get(partition);
    if (!part) {
      part = { clocks: {}, series: {}, symbols: {}, lifecycles: {} };
      this.#partitions.set(partition, part);
    }
    return part;
  }

  #seriesOf(partition: string, part: PartitionState, source: string): string[] {
    let bySource = this.#bySource.get(partition);
    if (!bySource) {
      bySource = new Map();
      for (const key of Object.keys(part.series).sort()) {
        const src = part.series[key]!.source;
        let list = bySource.get(src);
        if (!list) bySource.set(src, list = []);
        list.push(key);
      }
      this.#bySource.set(partition, bySource);
    }
    return bySource.get(source) ?? [];
  }

  #settingsFor(symbol: string): DetectorSettings {
    let s = this.#settings.get(symbol);
    if (!s) {
      s = settingsFor(this.#config, symbol);
      this.#settings.set(symbol, s);
    }
    return s;
  }

  #emit(
    part: PartitionState,
    out: Alert[],
    detector: DetectorName,
    symbol: string,
    source: string,
    signal: Signal,
  ): void {
    const settings = this.#settingsFor(symbol)[detector];
    const dedupKey = `${detector}:${symbol}:${source}`;
    const state = part.lifecycles[dedupKey] ??= initialLifecycle();
    const event = advance(state, signal, settings);
    if (event === undefined) return;
    if (event === "suppressed") {
      this.counts.suppressed[detector] = (this.counts.suppressed[detector] ?? 0) + 1;
      return;
    }
    out.push(this.#alert(detector, symbol, source, dedupKey, event));
  }

  #alert(
    detector: DetectorName,
    symbol: string,
    source: string,
    dedupKey: string,
    e: LifecycleEvent,
  ): Alert {
    const s = e.signal;
    return {
      id: `${dedupKey}@${e.openedTs}#${e.sequence}`,
      ts: s.ts,
      symbol,
      source: this.#agent,
      rule: detector,
      severity: e.severity,
      message: e.status === "RESOLVE" ? `resolved: ${s.message}` : s.message,
      value: Number.isFinite(s.value) ? s.value : null,
      threshold: s.threshold,
      attributes: detector === "source_divergence" ? { sources: source } : { source },
      status: e.status,
      dedupKey,
      sequence: e.sequence,
      openedTs: e.openedTs,
      detectorVersion: DETECTOR_VERSIONS[detector],
      parameters: this.#parametersOf(detector, symbol),
      inputs: s.inputs,
      observed: Object.fromEntries(Object.entries(s.observed).filter(([, v]) => Number.isFinite(v))),
    };
  }

  #parametersOf(detector: DetectorName, symbol: string): string {
    const key = `${detector}\u0000${symbol}`;
    let p = this.#parameters.get(key);
    if (p === undefined) {
      p = JSON.stringify(this.#settingsFor(symbol)[detector]);
      this.#parameters.set(key, p);
    }
    return p;
  }
}

/** The key of a record's partition in the monitor's state: `<topic>/<partition>`. */
export function partitionOf(ref: { topic: string; partition: number }): string {
  return `${ref.topic}/${ref.partition}`;
}

export { DETECTOR_NAMES };
