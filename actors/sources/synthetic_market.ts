/**
 * The synthetic market: a seeded geometric Brownian motion per symbol, emitted round-robin at a
 * configurable overall rate. The default source and the benchmark load; the same seed, symbols and
 * start time always give the same ticks.
 *
 * @module
 */
import type { MarketRecord, RecordHandler, Tick } from "./market_record.ts";
import { SeededRandom } from "./seeded_random.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { type MetricsSink, RECORDS_OUT } from "../shared/source_metrics.ts";

/** One simulated instrument. */
export interface SyntheticSymbol {
  /** Normalised symbol, e.g. `BTC-USD` or `AAPL`. */
  symbol: string;
  /** Starting price. */
  price: number;
  /** Annualised drift (μ). Default: the market's `drift`. */
  drift?: number;
  /** Annualised volatility (σ). Default: the market's `volatility`. */
  volatility?: number;
}

/** Options of {@link SyntheticMarket}. */
export interface SyntheticMarketOptions {
  /** Instruments; a bare string starts at a known price (or 100). Default BTC-USD, ETH-USD, AAPL, EUR-USD. */
  symbols?: Array<string | SyntheticSymbol>;
  /** Seed of the random walk. Default 42. */
  seed?: number;
  /** Ticks per second over all symbols; 0 or Infinity = as fast as possible. Default 10. */
  ratePerSecond?: number;
  /** Annualised drift. Default 0.05. */
  drift?: number;
  /** Annualised volatility. Default 0.6. */
  volatility?: number;
  /** Bid/ask spread in basis points of the price. Default 2. */
  spreadBps?: number;
  /** Timestamp of the first tick (ms); later ticks step by 1000 / rate. Default: when `run` starts. */
  startTs?: number;
  /** Stop after this many ticks. Default: run until aborted. */
  maxTicks?: number;
  /**
   * Injected anomalies (off when absent): each tick starts one with probability `rate`, drawn from its own seeded
   * stream (`seed` + 1), so the walk itself is the same with or without them.
   */
  anomalies?: SyntheticAnomalies;
  /** Told of each anomaly as it is injected (the ground truth of the monitor's scorecard). */
  onAnomaly?: (anomaly: InjectedAnomaly) => void;
  /** Records-out counter (`source_records_total{source="synthetic",kind="tick"}`), counted per 1 000 ticks. */
  metrics?: MetricsSink;
}

/** Kinds of injected anomaly. */
export type AnomalyKind = "jump" | "volume" | "gap" | "volatility";

/** Occasional anomalies for a newcomer's monitor to find, and for its scorecard. */
export interface SyntheticAnomalies {
  /** Probability per tick that an anomaly starts (e.g. 0.001: one per 1 000 ticks). */
  rate: number;
  /** Kinds to draw from, uniformly. Default all. */
  kinds?: AnomalyKind[];
  /** Size of a jump, as a fraction of the price (its sign is random). Default 0.02. */
  jumpFraction?: number;
  /** A volume spike is this many times the mean per-tick volume. Default 50. */
  volumeMultiple?: number;
  /** A gap silences the symbol for this many of its ticks. Default 40. */
  gapTicks?: number;
  /** A volatility regime multiplies σ by this… Default 4. */
  volatilityMultiple?: number;
  /** …for this many of the symbol's ticks. Default 200. */
  volatilityTicks?: number;
}

/** An anomaly as injected: the first tick (slot) it affects. */
export interface InjectedAnomaly {
  kind: AnomalyKind;
  symbol: string;
  /** Event time of the first affected tick (for a gap: of the first tick not sent). */
  ts: number;
  /** For a gap and a volatility regime: event time of the last affected tick. */
  endTs: number;
}

const KNOWN_PRICES: Record<string, number> = {
  "BTC-USD": 65_000,
  "ETH-USD": 3_200,
  "SOL-USD": 150,
  "AAPL": 190,
  "MSFT": 420,
  "EUR-USD": 1.08,
};
const DEFAULT_SYMBOLS = ["BTC-USD", "ETH-USD", "AAPL", "EUR-USD"];
const SECONDS_PER_YEAR = 365 * 24 * 3600;
const SOURCE = "synthetic";

/**
 * Generates ticks; {@link next} is pure given the options, {@link run} paces it.
 *
 * @example
 * ```ts
 * const market = new SyntheticMarket({ seed: 7, ratePerSecond: 100 });
 * await market.run((r) => ctx.publish("market.ticks", [{ key: r.value.symbol, value: r.value }]), signal);
 * ```
 */
export class SyntheticMarket {
  readonly ratePerSecond: number;
  readonly #symbols: string[];
  readonly #prices: Float64Array;
  readonly #driftTerm: Float64Array;
  readonly #volTerm: Float64Array;
  readonly #volume: Float64Array;
  readonly #halfSpread: number;
  readonly #rng: SeededRandom;
  readonly #maxTicks: number;
  readonly #metrics?: MetricsSink;
  readonly #anomalies?: Required<SyntheticAnomalies>;
  readonly #anomalyRng: SeededRandom;
  readonly #onAnomaly?: (anomaly: InjectedAnomaly) => void;
  /** Per symbol: the slot until which it is silent, and until which its σ is raised. */
  readonly #silentUntil: Float64Array;
  readonly #volatileUntil: Float64Array;
  #startTs: number | undefined;
  #count = 0;
  /** Time slots advanced (equal to `#count` unless a gap skipped some). */
  #slot = 0;

  /** @throws {RangeError} for a negative rate, spread or volatility, or no symbols */
  constructor(options: SyntheticMarketOptions = {}) {
    const rate = options.ratePerSecond ?? 10;
    if (!(rate >= 0)) throw new RangeError(`Cannot create synthetic market: ratePerSecond is ${rate}`);
    this.ratePerSecond = rate === 0 ? Infinity : rate;
    const specs = (options.symbols ?? DEFAULT_SYMBOLS).map((s) =>
      typeof s === "string" ? { symbol: s, price: KNOWN_PRICES[s] ?? 100 } : s
    );
    if (specs.length === 0) throw new RangeError("Cannot create synthetic market: symbols is empty");
    const spreadBps = options.spreadBps ?? 2;
    if (!(spreadBps >= 0)) throw new RangeError(`Cannot create synthetic market: spreadBps is ${spreadBps}`);
    this.#halfSpread = spreadBps / 20_000;
    // Each symbol ticks every (n / rate) seconds; use 1 s steps when the rate is unbounded.
    const dtSeconds = Number.isFinite(this.ratePerSecond) ? specs.length / this.ratePerSecond : 1;
    const dt = dtSeconds / SECONDS_PER_YEAR;
    this.#symbols = specs.map((s) => s.symbol);
    this.#prices = new Float64Array(specs.map((s) => s.price));
    this.#volume = new Float64Array(specs.length);
    this.#driftTerm = new Float64Array(specs.length);
    this.#volTerm = new Float64Array(specs.length);
    specs.forEach((s, i) => {
      const mu = s.drift ?? options.drift ?? 0.05;
      const sigma = s.volatility ?? options.volatility ?? 0.6;
      if (!(sigma >= 0) || !(s.price > 0)) {
        throw new RangeError(
          `Cannot create synthetic market: ${s.symbol} needs price > 0 and volatility >= 0, current values are ${s.price}, ${sigma}`,
        );
      }
      this.#driftTerm[i] = (mu - (sigma * sigma) / 2) * dt;
      this.#volTerm[i] = sigma * Math.sqrt(dt);
    });
    this.#rng = new SeededRandom(options.seed ?? 42);
    this.#anomalyRng = new SeededRandom((options.seed ?? 42) + 1);
    this.#silentUntil = new Float64Array(specs.length);
    this.#volatileUntil = new Float64Array(specs.length);
    if (options.anomalies) {
      const a = options.anomalies;
      if (!(a.rate >= 0 && a.rate <= 1)) {
        throw new RangeError(`Cannot create synthetic market: anomalies.rate is ${a.rate} (expected 0..1)`);
      }
      this.#anomalies = {
        rate: a.rate,
        kinds: a.kinds?.length ? a.kinds : ["jump", "volume", "gap", "volatility"],
        jumpFraction: a.jumpFraction ?? 0.02,
        volumeMultiple: a.volumeMultiple ?? 50,
        gapTicks: a.gapTicks ?? 40,
        volatilityMultiple: a.volatilityMultiple ?? 4,
        volatilityTicks: a.volatilityTicks ?? 200,
      };
    }
    if (options.onAnomaly) this.#onAnomaly = options.onAnomaly;
    this.#maxTicks = options.maxTicks ?? Infinity;
    this.#startTs = options.startTs;
    if (options.metrics) this.#metrics = options.metrics;
  }

  /** Ticks generated so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * The next tick (advances that symbol's random walk).
   *
   * @returns a market.tick record
   */
  next(): Tick {
    const n = this.#symbols.length;
    this.#startTs ??= Date.now();
    const step = Number.isFinite(this.ratePerSecond) ? 1000 / this.ratePerSecond : 1;
    for (;;) {
      const slot = this.#slot++;
      const i = slot % n;
      const ts = this.#startTs + Math.floor(slot * step);
      const volatile = slot < this.#volatileUntil[i]!;
      const sigma = this.#volTerm[i]! * (volatile ? this.#anomalies!.volatilityMultiple : 1);
      let price = this.#prices[i]! * Math.exp(this.#driftTerm[i]! + sigma * this.#rng.normal());
      let volume = this.#volume[i]! + this.#rng.next();
      if (slot < this.#silentUntil[i]!) {
        this.#prices[i] = price;
        this.#volume[i] = volume;
        continue; // a gap: the walk goes on, nothing is sent
      }
      const a = this.#anomalies;
      if (a && this.#anomalyRng.next() < a.rate) {
        const kind = a.kinds[Math.floor(this.#anomalyRng.next() * a.kinds.length)]!;
        const symbol = this.#symbols[i]!;
        let endTs = ts;
        if (kind === "jump") price *= 1 + (this.#anomalyRng.next() < 0.5 ? -1 : 1) * a.jumpFraction;
        else if (kind === "volume") volume += a.volumeMultiple * 0.5;
        else if (kind === "gap") {
          // This tick is sent; its next gapTicks are not.
          this.#silentUntil[i] = slot + n * (a.gapTicks + 1);
          endTs = this.#startTs + Math.floor((slot + n * a.gapTicks) * step);
        } else {
          this.#volatileUntil[i] = slot + n * a.volatilityTicks;
          endTs = this.#startTs + Math.floor((slot + n * (a.volatilityTicks - 1)) * step);
        }
        const gapStart = kind === "gap" ? this.#startTs + Math.floor((slot + n) * step) : ts;
        this.#onAnomaly?.({ kind, symbol, ts: gapStart, endTs });
      }
      this.#prices[i] = price;
      this.#volume[i] = volume;
      this.#count++;
      const half = price * this.#halfSpread;
      return {
        symbol: this.#symbols[i]!,
        source: SOURCE,
        exchange: null,
        ts,
        price: round(price),
        bid: round(price - half),
        ask: round(price + half),
        volume: round(volume),
      };
    }
  }

  /**
   * Emits ticks at `ratePerSecond` (or as fast as the handler takes them) until `maxTicks` or abort.
   *
   * @param onRecord receives each tick; a returned promise is awaited (backpressure)
   * @param signal stops the run
   * @returns resolves with the number of ticks emitted by this run
   */
  async run(onRecord: RecordHandler, signal?: AbortSignal): Promise<number> {
    const paced = Number.isFinite(this.ratePerSecond);
    const started = performance.now();
    this.#startTs ??= Date.now();
    let emitted = 0;
    let unreported = 0;
    try {
      while (!signal?.aborted && this.#count < this.#maxTicks) {
        if (paced) {
          const due = Math.floor(((performance.now() - started) * this.ratePerSecond) / 1000) + 1;
          if (emitted >= due) {
            try {
              await abortableSleep(Math.max(1, ((emitted - due + 1) * 1000) / this.ratePerSecond), signal);
            } catch {
              break;
            }
            continue;
          }
        } else if ((emitted & 1023) === 1023) {
          await new Promise((r) => setTimeout(r, 0)); // let timers and aborts run
        }
        const record: MarketRecord = { kind: "tick", value: this.next() };
        const pending = onRecord(record);
        if (pending) await pending;
        emitted++;
        if (++unreported === 1000) {
          this.#metrics?.inc(RECORDS_OUT, { source: SOURCE, kind: "tick" }, unreported);
          unreported = 0;
        }
      }
    } finally {
      if (unreported > 0) this.#metrics?.inc(RECORDS_OUT, { source: SOURCE, kind: "tick" }, unreported);
    }
    return emitted;
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
