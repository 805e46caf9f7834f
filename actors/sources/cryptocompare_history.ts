/**
 * CryptoCompare REST history: `histominute`, `histohour`, `histoday`, one page at a time or a backfill
 * of the last N bars paging backwards with `toTs`. Errors are classified (both shapes), retried with
 * backoff when retriable, and guarded by a circuit breaker.
 *
 * @module
 */
import { z } from "zod";
import type { Logger } from "@logtape/logtape";
import type { Bar, RecordHandler } from "./market_record.ts";
import { pairSymbol } from "./market_symbol.ts";
import { cryptoCompareError } from "./cryptocompare_error.ts";
import { describeIssues } from "./malformed_payload_error.ts";
import { retry } from "../shared/retry.ts";
import { CircuitBreaker } from "../shared/circuit_breaker.ts";
import { type MetricsSink, RECORDS_OUT } from "../shared/source_metrics.ts";
import { fetchUpstream, logRetry, type UpstreamClientOptions } from "../shared/upstream_client.ts";
import { type MalformedSink, reportMalformed, sourceOutput } from "./source_output.ts";

/** The real REST endpoint (the default). */
export const CRYPTOCOMPARE_REST_URL = "https://min-api.cryptocompare.com";

/** Bar unit: which history endpoint. */
export type HistoryUnit = "minute" | "hour" | "day";

/**
 * Options of {@link CryptoCompareHistory}: the API key is sent as `Authorization: Apikey <key>` (usually
 * `CRYPTOCOMPARE_API_KEY`); the base URL defaults to {@link CRYPTOCOMPARE_REST_URL}; retries default to 4 attempts
 * from 500 ms.
 */
export type CryptoCompareHistoryOptions = UpstreamClientOptions;

/** One history request. */
export interface HistoryRequest {
  /** Base currency, e.g. `BTC`. */
  fsym: string;
  /** Quote currency, e.g. `USD`. */
  tsym: string;
  /** Bar unit. */
  unit: HistoryUnit;
  /** Exchange (`e`). Default `CCCAGG`, the aggregate index. */
  exchange?: string;
  /** Bars per bar-unit (`aggregate`). Default 1. */
  aggregate?: number;
}

const SOURCE = "cryptocompare";
const MAX_PAGE = 2000;
const num = z.number();
const barSchema = z.object({
  time: z.number().int(),
  open: num,
  high: num,
  low: num,
  close: num,
  volumefrom: num,
  volumeto: num.optional(),
});
const envelopeSchema = z.object({
  Response: z.literal("Success"),
  Data: z.object({
    TimeFrom: z.number().optional(),
    TimeTo: z.number().optional(),
    Data: z.array(z.unknown()),
  }),
});
const UNIT_SUFFIX: Record<HistoryUnit, string> = { minute: "m", hour: "h", day: "d" };

/**
 * The REST history client.
 *
 * @example
 * ```ts
 * const history = new CryptoCompareHistory({ apiKey: Deno.env.get("CRYPTOCOMPARE_API_KEY") });
 * const bars = await history.backfill({ fsym: "BTC", tsym: "USD", unit: "hour" }, 5000);
 * ```
 */
export class CryptoCompareHistory {
  readonly baseUrl: string;
  readonly breaker: CircuitBreaker;
  readonly #options: CryptoCompareHistoryOptions;
  readonly #metrics: MetricsSink;
  readonly #log: Logger;
  readonly #malformedSink: MalformedSink;

  constructor(options: CryptoCompareHistoryOptions = {}) {
    this.#options = options;
    this.baseUrl = (options.baseUrl ?? CRYPTOCOMPARE_REST_URL).replace(/\/+$/, "");
    this.breaker = options.breaker ?? new CircuitBreaker({ name: SOURCE });
    this.#malformedSink = sourceOutput(SOURCE, options);
    this.#metrics = this.#malformedSink.metrics;
    this.#log = this.#malformedSink.log;
  }

  /**
   * One page of bars ending at `toTs` (inclusive), oldest first.
   *
   * @param request pair, unit, exchange
   * @param limit bars wanted (1..2000; CryptoCompare returns `limit + 1`)
   * @param toTs last bar's time, unix seconds. Default: now
   * @param signal aborts the request and its retries
   * @returns the bars, oldest first, without the zero bars CryptoCompare pads with before a pair listed
   * @throws {UpstreamError} classified (`auth`, `rate_limited`, `bad_request`, `retriable`) once retries are used up
   * @throws {CircuitOpenError} while the breaker is open
   */
  page(request: HistoryRequest, limit: number, toTs?: number, signal?: AbortSignal): Promise<Bar[]> {
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE)) {
      throw new RangeError(
        `Cannot fetch history: limit must be within 1..${MAX_PAGE}, current value is ${limit}`,
      );
    }
    const url = new URL(`${this.baseUrl}/data/v2/histo${request.unit}`);
    url.searchParams.set("fsym", request.fsym.toUpperCase());
    url.searchParams.set("tsym", request.tsym.toUpperCase());
    url.searchParams.set("limit", String(limit));
    url.searchParams.set("aggregate", String(request.aggregate ?? 1));
    url.searchParams.set("e", request.exchange ?? "CCCAGG");
    if (toTs !== undefined) url.searchParams.set("toTs", String(Math.floor(toTs)));
    const what = `GET /data/v2/histo${request.unit} ${request.fsym}/${request.tsym}`;
    return retry(
      () => this.breaker.call(() => this.#fetchPage(url, what, request, signal)),
      {
        ...{ attempts: 4, initialMs: 500 },
        ...this.#options.retry,
        ...(signal ? { signal } : {}),
        onRetry: logRetry(this.#log, what),
      },
    );
  }

  /**
   * The last `bars` bars up to `toTs`, paging backwards (2 000 per request) until enough bars, or the
   * pair's first listing, or the provider's horizon (minute history reaches back 7 days).
   *
   * @param request pair, unit, exchange
   * @param bars how many bars
   * @param options `toTs` (unix s, default now), `onRecord` (receives each bar oldest first, awaited), `signal`
   * @returns the bars, oldest first, no duplicates
   */
  async backfill(
    request: HistoryRequest,
    bars: number,
    options: { toTs?: number; onRecord?: RecordHandler; signal?: AbortSignal } = {},
  ): Promise<Bar[]> {
    const pages: Bar[][] = [];
    let have = 0;
    let toTs = options.toTs;
    while (have < bars) {
      const want = Math.min(MAX_PAGE, bars - have);
      const page = await this.page(request, want, toTs, options.signal);
      const fresh = toTs === undefined ? page : page.filter((b) => b.ts / 1000 <= toTs!);
      if (fresh.length === 0) break;
      pages.unshift(fresh);
      have += fresh.length;
      const oldest = fresh[0]!.ts / 1000;
      toTs = oldest - 1;
      if (fresh.length < want) break; // reached the listing date or the horizon
    }
    const all = pages.flat();
    const out = all.slice(Math.max(0, all.length - bars));
    if (options.onRecord) {
      for (const bar of out) {
        const pending = options.onRecord({ kind: "bar", value: bar });
        if (pending) await pending;
      }
    }
    this.#log.info("backfilled {count} {unit} bars of {fsym}/{tsym}", {
      count: out.length,
      unit: request.unit,
      fsym: request.fsym,
      tsym: request.tsym,
    });
    return out;
  }

  async #fetchPage(url: URL, what: string, request: HistoryRequest, signal?: AbortSignal): Promise<Bar[]> {
    const headers: Record<string, string> = {};
    if (this.#options.apiKey) headers.Authorization = `Apikey ${this.#options.apiKey}`;
    const response = await fetchUpstream(url, {
      source: SOURCE,
      what,
      headers,
      metrics: this.#metrics,
      log: this.#log,
      classify: (status, body) => cryptoCompareError(status, body, what),
      ...(signal ? { signal } : {}),
      ...(this.#options.timeoutMs ? { timeoutMs: this.#options.timeoutMs } : {}),
      ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
    });
    const envelope = envelopeSchema.safeParse(response.body, { reportInput: true });
    if (!envelope.success) {
      reportMalformed(
        this.#malformedSink,
        response.body,
        "history response",
        describeIssues(envelope.error),
        envelope.error,
      );
      return [];
    }
    const symbol = pairSymbol(request.fsym, request.tsym);
    const interval = `${request.aggregate ?? 1}${UNIT_SUFFIX[request.unit]}`;
    const exchange = request.exchange ?? "CCCAGG";
    const out: Bar[] = [];
    envelope.data.Data.Data.forEach((raw, i) => {
      const parsed = barSchema.safeParse(raw, { reportInput: true });
      if (!parsed.success) {
        reportMalformed(
          this.#malformedSink,
          raw,
          `history bar Data.Data[${i}]`,
          describeIssues(parsed.error),
          parsed.error,
        );
        return;
      }
      const b = parsed.data;
      if (b.open === 0 && b.high === 0 && b.low === 0 && b.close === 0) return; // padding before listing
      out.push({
        symbol,
        source: SOURCE,
        exchange,
        interval,
        ts: b.time * 1000,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volumefrom,
        trades: null,
      });
    });
    this.#metrics.inc(RECORDS_OUT, { source: SOURCE, kind: "bar" }, out.length);
    return out;
  }
}
