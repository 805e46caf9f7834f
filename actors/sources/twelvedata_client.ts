/**
 * The Twelve Data REST client: `time_series` (bars), `quote` and `price` (ticks). Every request first
 * takes its credits (1 per symbol) from a per-minute {@link CreditRateLimiter}; a 429 (out of credits)
 * empties the bucket and waits for the next window. Errors are read from the body — they may come with
 * HTTP 200 — classified, retried when retriable and guarded by a circuit breaker.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Bar, Tick } from "./market_record.ts";
import { fromSlashSymbol, toSlashSymbol } from "./market_symbol.ts";
import { twelveDataError } from "./twelvedata_error.ts";
import {
  parseUtcDatetime,
  priceResponse,
  quoteResponse,
  timeSeriesResponse,
  timeSeriesValue,
} from "./twelvedata_payloads.ts";
import { describeIssues } from "./malformed_payload_error.ts";
import { retry } from "../shared/retry.ts";
import { CircuitBreaker } from "../shared/circuit_breaker.ts";
import { CreditRateLimiter } from "../shared/credit_rate_limiter.ts";
import { type MetricsSink, RECORDS_OUT } from "../shared/source_metrics.ts";
import { fetchUpstream, logRetry, type UpstreamClientOptions } from "../shared/upstream_client.ts";
import { type MalformedSink, reportMalformed, sourceOutput } from "./source_output.ts";

/** The real REST endpoint (the default). */
export const TWELVEDATA_REST_URL = "https://api.twelvedata.com";

/** `time_series` intervals. */
export type TwelveDataInterval =
  | "1min"
  | "5min"
  | "15min"
  | "30min"
  | "45min"
  | "1h"
  | "2h"
  | "4h"
  | "1day"
  | "1week"
  | "1month";

/**
 * Options of {@link TwelveDataClient}: the API key is sent as `Authorization: apikey <key>` (usually
 * `TWELVEDATA_API_KEY`); the base URL defaults to {@link TWELVEDATA_REST_URL}; retries default to 3 attempts from
 * 500 ms.
 */
export interface TwelveDataClientOptions extends UpstreamClientOptions {
  /** Credits per window (the plan's per-minute budget). Default 8. Ignored when `limiter` is given. */
  creditsPerMinute?: number;
  /** The credit window in ms. Default 60 000. Ignored when `limiter` is given. */
  creditWindowMs?: number;
  /** A limiter shared by every client of the same key. */
  limiter?: CreditRateLimiter;
}

/** Options of {@link TwelveDataClient.timeSeries}. */
export interface TimeSeriesRequest {
  /** Symbol, Twelve Data (`BTC/USD`) or normalised (`BTC-USD`) spelling. */
  symbol: string;
  /** Bar interval. */
  interval: TwelveDataInterval;
  /** Bars wanted, 1..5000. Default 30. */
  outputsize?: number;
  /** `start_date` / `end_date`, in UTC (`2024-01-02 15:00:00`). */
  startDate?: string;
  endDate?: string;
}

const SOURCE = "twelvedata";
const INTERVALS: Record<TwelveDataInterval, string> = {
  "1min": "1m",
  "5min": "5m",
  "15min": "15m",
  "30min": "30m",
  "45min": "45m",
  "1h": "1h",
  "2h": "2h",
  "4h": "4h",
  "1day": "1d",
  "1week": "1w",
  "1month": "1M",
};

/**
 * The REST client.
 *
 * @example
 * ```ts
 * const td = new TwelveDataClient({ apiKey: Deno.env.get("TWELVEDATA_API_KEY") });
 * const bars = await td.timeSeries({ symbol: "AAPL", interval: "1min", outputsize: 120 });
 * const tick = await td.quote("EUR/USD");
 * ```
 */
export class TwelveDataClient {
  readonly baseUrl: string;
  readonly limiter: CreditRateLimiter;
  readonly breaker: CircuitBreaker;
  readonly #options: TwelveDataClientOptions;
  readonly #metrics: MetricsSink;
  readonly #log: Logger;
  readonly #malformedSink: MalformedSink;

  constructor(options: TwelveDataClientOptions = {}) {
    this.#options = options;
    this.baseUrl = (options.baseUrl ?? TWELVEDATA_REST_URL).replace(/\/+$/, "");
    this.limiter = options.limiter ??
      new CreditRateLimiter({
        credits: options.creditsPerMinute ?? 8,
        windowMs: options.creditWindowMs ?? 60_000,
      });
    this.breaker = options.breaker ?? new CircuitBreaker({ name: SOURCE });
    this.#malformedSink = sourceOutput(SOURCE, options);
    this.#metrics = this.#malformedSink.metrics;
    this.#log = this.#malformedSink.log;
  }

  /**
   * Bars of one symbol, oldest first (values that fail validation are reported and skipped).
   *
   * @param request symbol, interval, size, dates
   * @param signal aborts the request, its credit wait and its retries
   * @returns market.bar records
   * @throws {UpstreamError} classified, once retries are used up
   * @throws {CircuitOpenError} while the breaker is open
   */
  async timeSeries(request: TimeSeriesRequest, signal?: AbortSignal): Promise<Bar[]> {
    const outputsize = request.outputsize ?? 30;
    if (!(Number.isInteger(outputsize) && outputsize >= 1 && outputsize <= 5000)) {
      throw new RangeError(
        `Cannot fetch time_series: outputsize must be within 1..5000, current value is ${outputsize}`,
      );
    }
    const params: Record<string, string> = {
      symbol: toSlashSymbol(request.symbol),
      interval: request.interval,
      outputsize: String(outputsize),
      timezone: "UTC",
    };
    if (request.startDate) params.start_date = request.startDate;
    if (request.endDate) params.end_date = request.endDate;
    const body = await this.#get("/time_series", params, signal);
    const envelope = timeSeriesResponse.safeParse(body, { reportInput: true });
    if (!envelope.success) {
      reportMalformed(
        this.#malformedSink,
        body,
        "time_series response",
        describeIssues(envelope.error),
        envelope.error,
      );
      return [];
    }
    const symbol = fromSlashSymbol(envelope.data.meta.symbol);
    const exchange = envelope.data.meta.exchange ?? null;
    const bars: Bar[] = [];
    envelope.data.values.forEach((raw, i) => {
      const v = timeSeriesValue.safeParse(raw, { reportInput: true });
      if (!v.success) {
        reportMalformed(
          this.#malformedSink,
          raw,
          `time_series values[${i}]`,
          describeIssues(v.error),
          v.error,
        );
        return;
      }
      bars.push({
        symbol,
        source: SOURCE,
        exchange,
        interval: INTERVALS[request.interval],
        ts: parseUtcDatetime(v.data.datetime),
        open: v.data.open,
        high: v.data.high,
        low: v.data.low,
        close: v.data.close,
        volume: v.data.volume ?? 0,
        trades: null,
      });
    });
    bars.sort((a, b) => a.ts - b.ts);
    this.#metrics.inc(RECORDS_OUT, { source: SOURCE, kind: "bar" }, bars.length);
    return bars;
  }

  /**
   * The latest quote as a tick (price = last close, ts = the quote's timestamp).
   *
   * @param symbol Twelve Data or normalised spelling
   * @param signal aborts
   * @returns the tick, or undefined when the payload was malformed (reported)
   */
  async quote(symbol: string, signal?: AbortSignal): Promise<Tick | undefined> {
    const body = await this.#get("/quote", { symbol: toSlashSymbol(symbol) }, signal);
    const q = quoteResponse.safeParse(body, { reportInput: true });
    if (!q.success) {
      reportMalformed(this.#malformedSink, body, "quote response", describeIssues(q.error), q.error);
      return undefined;
    }
    this.#metrics.inc(RECORDS_OUT, { source: SOURCE, kind: "tick" });
    return {
      symbol: fromSlashSymbol(q.data.symbol),
      source: SOURCE,
      exchange: q.data.exchange ?? null,
      ts: q.data.timestamp !== undefined
        ? q.data.timestamp * 1000
        : q.data.datetime
        ? parseUtcDatetime(q.data.datetime)
        : Date.now(),
      price: q.data.close,
      bid: null,
      ask: null,
      volume: q.data.volume ?? null,
    };
  }

  /**
   * The latest price as a tick (ts = when it was received).
   *
   * @param symbol Twelve Data or normalised spelling
   * @param signal aborts
   * @returns the tick, or undefined when the payload was malformed (reported)
   */
  async price(symbol: string, signal?: AbortSignal): Promise<Tick | undefined> {
    const body = await this.#get("/price", { symbol: toSlashSymbol(symbol) }, signal);
    const p = priceResponse.safeParse(body, { reportInput: true });
    if (!p.success) {
      reportMalformed(this.#malformedSink, body, "price response", describeIssues(p.error), p.error);
      return undefined;
    }
    this.#metrics.inc(RECORDS_OUT, { source: SOURCE, kind: "tick" });
    return {
      symbol: fromSlashSymbol(toSlashSymbol(symbol)),
      source: SOURCE,
      exchange: null,
      ts: Date.now(),
      price: p.data.price,
      bid: null,
      ask: null,
      volume: null,
    };
  }

  #get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const cost = (params.symbol ?? "").split(",").length;
    const what = `GET ${path} ${params.symbol ?? ""}`.trim();
    return retry(async () => {
      await this.limiter.acquire(cost, signal);
      return this.breaker.call(() => this.#fetch(url, what, signal));
    }, {
      ...{ attempts: 3, initialMs: 500 },
      ...this.#options.retry,
      ...(signal ? { signal } : {}),
      onRetry: logRetry(this.#log, what),
    });
  }

  async #fetch(url: URL, what: string, signal?: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.#options.apiKey) headers.Authorization = `apikey ${this.#options.apiKey}`;
    const response = await fetchUpstream(url, {
      source: SOURCE,
      what,
      headers,
      metrics: this.#metrics,
      log: this.#log,
      classify: (status, body) => {
        const error = twelveDataError(status, body, what, this.limiter.windowMs);
        if (error?.kind === "rate_limited") this.limiter.drain();
        return error;
      },
      ...(signal ? { signal } : {}),
      ...(this.#options.timeoutMs ? { timeoutMs: this.#options.timeoutMs } : {}),
      ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
    });
    return response.body;
  }
}
