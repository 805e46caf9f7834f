/**
 * The normalised records sources emit, mirroring the Avro schemas in `schemas/` (market.tick v1,
 * market.trade v1, market.bar v1): optional fields are `null` when unknown, timestamps are ms since the
 * epoch, symbols are `BASE-QUOTE` for crypto/FX and plain tickers for stocks.
 *
 * @module
 */

/** market.tick v1. */
export interface Tick {
  symbol: string;
  source: string;
  exchange: string | null;
  ts: number;
  price: number;
  bid: number | null;
  ask: number | null;
  volume: number | null;
}

/** market.trade v1. */
export interface Trade {
  symbol: string;
  source: string;
  exchange: string | null;
  ts: number;
  tradeId: string | null;
  price: number;
  size: number;
  side: "UNKNOWN" | "BUY" | "SELL";
}

/** market.bar v1. */
export interface Bar {
  symbol: string;
  source: string;
  exchange: string | null;
  interval: string;
  /** Start of the interval, ms since the epoch (UTC); intervals are aligned to the epoch. */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Sum of the sizes of the bar's prices (0 when none had a size). */
  volume: number;
  /** Number of prices with a size (trades); null when none had one (quotes only). */
  trades: number | null;
}

/** One emitted record with its kind; the agent publishes ticks to `market.ticks`, keyed by `value.symbol`. */
export type MarketRecord =
  | { kind: "tick"; value: Tick }
  | { kind: "trade"; value: Trade }
  | { kind: "bar"; value: Bar };

/** The record kinds. */
export type MarketRecordKind = MarketRecord["kind"];

/**
 * Receives a source's records. A returned promise is awaited by pull-based sources (synthetic, replay,
 * REST backfill) — that is their backpressure; push-based streams do not wait for it.
 */
export type RecordHandler = (record: MarketRecord) => void | Promise<void>;
