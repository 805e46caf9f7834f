/**
 * Market-data sources: upstream clients and normalisers that emit market.tick / market.trade /
 * market.bar records through a callback, for the publisher agents to publish keyed by symbol.
 *
 * - {@link SyntheticMarket}: seeded geometric Brownian motion per symbol (the default source and the benchmark load).
 * - {@link replayTicks}: a JSONL/CSV file of ticks at N× speed or as fast as possible (`sample_ticks.jsonl` ships).
 * - {@link CryptoCompareHistory} / {@link CryptoCompareStream}: REST history with backfill, and the streaming websocket.
 * - {@link TwelveDataClient} / {@link TwelveDataStream}: REST time_series/quote/price under a credit budget, and the price stream.
 *
 * Malformed upstream payloads never throw out of a source: they are counted (`source_malformed_total`)
 * and handed to `onMalformed(raw, MalformedPayloadError)`.
 *
 * @example
 * ```ts
 * const market = new SyntheticMarket({ seed: 42, ratePerSecond: 100 });
 * await market.run((r) => ctx.publish("market.ticks", [{ key: r.value.symbol, value: r.value }]), ctx.signal);
 * ```
 *
 * @module
 */
export type { Bar, MarketRecord, MarketRecordKind, RecordHandler, Tick, Trade } from "./market_record.ts";
export { fromSlashSymbol, pairSymbol, toSlashSymbol } from "./market_symbol.ts";
export { describeIssues, MalformedPayloadError } from "./malformed_payload_error.ts";
export { SeededRandom } from "./seeded_random.ts";
export { SyntheticMarket, type SyntheticMarketOptions, type SyntheticSymbol } from "./synthetic_market.ts";
export { replayTicks, type TickReplayOptions } from "./tick_replay.ts";
export { cryptoCompareError } from "./cryptocompare_error.ts";
export {
  CRYPTOCOMPARE_REST_URL,
  CryptoCompareHistory,
  type CryptoCompareHistoryOptions,
  type HistoryRequest,
  type HistoryUnit,
} from "./cryptocompare_history.ts";
export {
  CRYPTOCOMPARE_WS_URL,
  CryptoCompareStream,
  type CryptoCompareStreamOptions,
  DEFAULT_CRYPTOCOMPARE_SUBS,
} from "./cryptocompare_stream.ts";
export { TickerSnapshots } from "./cryptocompare_frames.ts";
export { twelveDataError } from "./twelvedata_error.ts";
export {
  type TimeSeriesRequest,
  TWELVEDATA_REST_URL,
  TwelveDataClient,
  type TwelveDataClientOptions,
  type TwelveDataInterval,
} from "./twelvedata_client.ts";
export { TWELVEDATA_WS_URL, TwelveDataStream, type TwelveDataStreamOptions } from "./twelvedata_stream.ts";

/** The shipped sample replay file: 300 ticks of the synthetic market (seed 7, 10 ticks/s). */
export const SAMPLE_TICKS_URL: URL = new URL("./sample_ticks.jsonl", import.meta.url);
