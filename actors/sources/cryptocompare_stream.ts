/**
 * The CryptoCompare streaming client (`wss://streamer.cryptocompare.com/v2`): subscribes with `SubAdd`,
 * normalises trades (TYPE 0), ticker/aggregate deltas (TYPE 2/5, merged per market and pair) and OHLC
 * bars (TYPE 24); reconnects after two missed heartbeats (TYPE 999) or any drop, waiting at least 5 s
 * with backoff, and resubscribes; detects `CCSEQ` gaps in trades (counted, logged, resubscribed) and
 * drops the trades replayed on subscribe that it already emitted.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { z } from "zod";
import type { RecordHandler } from "./market_record.ts";
import {
  controlFrame,
  ohlcFrame,
  tickerFrame,
  TickerSnapshots,
  toBar,
  toTrade,
  tradeFrame,
} from "./cryptocompare_frames.ts";
import { describeIssues } from "./malformed_payload_error.ts";
import { CircuitBreaker } from "../shared/circuit_breaker.ts";
import { runReconnectingWebSocket, type SocketSession } from "../shared/reconnecting_websocket.ts";
import {
  type MetricsSink,
  RECONNECTS,
  RECORDS_OUT,
  SEQUENCE_GAPS,
  SUBSCRIBE_FAILURES,
  UPSTREAM_REQUESTS,
} from "../shared/source_metrics.ts";
import { UpstreamError } from "../shared/upstream_error.ts";
import { handOn, type MalformedSink, reportMalformed, sourceOutput } from "./source_output.ts";
import type { UpstreamStreamOptions } from "../shared/upstream_client.ts";

/** The real streaming endpoint (the default). */
export const CRYPTOCOMPARE_WS_URL = "wss://streamer.cryptocompare.com/v2";

/** Default subscriptions: the aggregate index of BTC and ETH in USD. */
export const DEFAULT_CRYPTOCOMPARE_SUBS = ["5~CCCAGG~BTC~USD", "5~CCCAGG~ETH~USD"];

/**
 * Options of {@link CryptoCompareStream}: the API key goes in the URL as `api_key` (usually
 * `CRYPTOCOMPARE_API_KEY`); the endpoint defaults to {@link CRYPTOCOMPARE_WS_URL}; the reconnect backoff runs from
 * 5 s up to 60 s; the breaker opens after 5 failed connects for 60 s.
 */
export interface CryptoCompareStreamOptions extends UpstreamStreamOptions {
  /** Subscriptions in CryptoCompare syntax (`0~Coinbase~BTC~USD`, `5~CCCAGG~BTC~USD`, `24~CCCAGG~BTC~USD~m`). */
  subscriptions?: string[];
  /** Expected heartbeat period; two missed heartbeats (2.5 periods of silence) force a reconnect. Default 30 000. */
  heartbeatIntervalMs?: number;
  /** No reconnect waits less than this. Default 5 000 (CryptoCompare's rule); lower it in tests only. */
  minReconnectMs?: number;
  /**
   * Highest `CCSEQ` already published per `market~FSYM~TSYM` (a saved source offset): trades at or below it,
   * which CryptoCompare replays on subscribe, are dropped after a restart as after a reconnect.
   */
  lastSequences?: Record<string, number>;
}

const SOURCE = "cryptocompare";
const RECENT_TRADES = 256;

/**
 * The streaming client; {@link run} connects and keeps the stream up until the signal aborts.
 *
 * @example
 * ```ts
 * const stream = new CryptoCompareStream({
 *   apiKey: Deno.env.get("CRYPTOCOMPARE_API_KEY"),
 *   subscriptions: ["0~Coinbase~BTC~USD", "5~CCCAGG~BTC~USD"],
 *   onRecord: (r) => void publish(r),
 *   onMalformed: (raw, e) => void deadLetter(raw, e),
 * });
 * await stream.run(ctx.signal);
 * ```
 */
export class CryptoCompareStream {
  readonly subscriptions: readonly string[];
  readonly #options: CryptoCompareStreamOptions;
  readonly #metrics: MetricsSink;
  readonly #log: Logger;
  readonly #malformedSink: MalformedSink;
  readonly #tickers = new TickerSnapshots();
  /** Per market~pair: highest CCSEQ seen and recently seen sequence numbers. */
  readonly #seq = new Map<string, { max: number; seen: Set<number>; floor?: number }>();
  #sequenceGaps = 0;

  constructor(options: CryptoCompareStreamOptions) {
    this.#options = options;
    this.subscriptions = options.subscriptions ?? DEFAULT_CRYPTOCOMPARE_SUBS;
    if (this.subscriptions.length === 0) {
      throw new RangeError("Cannot stream CryptoCompare: subscriptions is empty");
    }
    this.#malformedSink = sourceOutput(SOURCE, options);
    this.#metrics = this.#malformedSink.metrics;
    this.#log = this.#malformedSink.log;
    for (const [key, max] of Object.entries(options.lastSequences ?? {})) {
      this.#seq.set(key, { max, seen: new Set(), floor: max });
    }
  }

  /** The highest `CCSEQ` seen per `market~FSYM~TSYM` (the stream's position, for a source offset). */
  sequences(): Record<string, number> {
    return Object.fromEntries([...this.#seq].map(([key, state]) => [key, state.max]));
  }

  /** Sequence gaps detected so far. */
  get sequenceGaps(): number {
    return this.#sequenceGaps;
  }

  /**
   * Streams until `signal` aborts.
   *
   * @param signal stops the stream
   * @returns resolves when stopped
   * @throws {UpstreamError} `auth` when the server answers TYPE 401 (reconnecting would not help)
   */
  run(signal: AbortSignal): Promise<void> {
    const base = this.#options.url ?? CRYPTOCOMPARE_WS_URL;
    const minMs = this.#options.minReconnectMs ?? 5000;
    const interval = this.#options.heartbeatIntervalMs ?? 30_000;
    return runReconnectingWebSocket({
      url: () => {
        const url = new URL(base);
        if (this.#options.apiKey) url.searchParams.set("api_key", this.#options.apiKey);
        return url.href;
      },
      signal,
      backoff: { initialMs: minMs, maxMs: Math.max(60_000, minMs), jitter: 0.2, ...this.#options.backoff },
      minDelayMs: minMs,
      silenceTimeoutMs: Math.round(interval * 2.5),
      breaker: this.#options.breaker ?? new CircuitBreaker({ name: `${SOURCE}-ws`, openMs: 60_000 }),
      onOpen: (s) => {
        this.#tickers.clear();
        s.send({ action: "SubAdd", subs: this.subscriptions });
      },
      onMessage: (data, s) => this.#onMessage(data, s),
      onStatus: (status) => {
        if (status.type === "closed" && status.reason !== "stopped") {
          this.#metrics.inc(RECONNECTS, { source: SOURCE, reason: reasonLabel(status.reason) });
          this.#log.warn("stream connection {number} closed: {reason}", { ...status });
        } else if (status.type === "waiting") {
          this.#log.info("reconnecting in {delayMs} ms (attempt {attempt})", { ...status });
        } else if (status.type === "open") {
          this.#log.info("stream connection {number} open, subscribing {subs}", {
            number: status.number,
            subs: this.subscriptions.join(","),
          });
        }
        this.#options.onStatus?.(status);
      },
    });
  }

  #onMessage(data: string, s: SocketSession): void {
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch (e) {
      reportMalformed(this.#malformedSink, data, "ws frame", `not JSON: ${(e as Error).message}`, e);
      return;
    }
    const control = controlFrame.safeParse(raw, { reportInput: true });
    if (!control.success) {
      reportMalformed(this.#malformedSink, raw, "ws frame", describeIssues(control.error), control.error);
      return;
    }
    const frame = control.data;
    const where = `ws frame TYPE "${frame.TYPE}"`;
    switch (frame.TYPE) {
      case "0":
        return this.#parsed(tradeFrame, raw, where, (f) => this.#onTrade(f, s));
      case "2":
      case "5":
        return this.#parsed(tickerFrame, raw, where, (f) => {
          const tick = this.#tickers.merge(f, Date.now());
          if (tick) this.#emit({ kind: "tick", value: tick });
        });
      case "24":
        return this.#parsed(ohlcFrame, raw, where, (f) => this.#emit({ kind: "bar", value: toBar(f) }));
      case "999":
        s.beat();
        s.markHealthy();
        return;
      case "20":
        this.#metrics.inc(UPSTREAM_REQUESTS, { source: SOURCE, status: "ok" });
        this.#log.info("stream welcome: {active} sockets active, {remaining} remaining", {
          active: frame.SOCKETS_ACTIVE,
          remaining: frame.SOCKETS_REMAINING,
        });
        return;
      case "16":
        s.markHealthy();
        this.#log.debug("subscribed {sub}", { sub: frame.SUB });
        return;
      case "3":
      case "17":
      case "18":
        return;
      case "401": {
        this.#metrics.inc(UPSTREAM_REQUESTS, { source: SOURCE, status: "auth" });
        const error = new UpstreamError(
          `stream refused the API key (TYPE 401): ${frame.MESSAGE ?? ""}`.trim(),
          {
            source: SOURCE,
            kind: "auth",
            code: 401,
          },
        );
        this.#log.error("{message}", { message: error.message });
        s.fail(error);
        return;
      }
      case "429":
        return this.#onRateLimit(frame, s);
      case "500":
        return this.#onServerError(frame, s);
      default:
        this.#log.debug("ignored frame TYPE {type}", { type: frame.TYPE });
    }
  }

  #onTrade(f: z.infer<typeof tradeFrame>, s: SocketSession): void {
    if (f.CCSEQ !== undefined) {
      const key = `${f.M}~${f.FSYM}~${f.TSYM}`;
      let state = this.#seq.get(key);
      if (state === undefined) this.#seq.set(key, state = { max: f.CCSEQ - 1, seen: new Set() });
      if (state.seen.has(f.CCSEQ)) return; // replayed on (re)subscribe: already emitted
      if (f.CCSEQ <= (state.floor ?? -Infinity)) return; // replayed after a restart: published before it
      state.seen.add(f.CCSEQ);
      if (state.seen.size > RECENT_TRADES) state.seen.delete(state.seen.values().next().value!);
      if (f.CCSEQ > state.max + 1) {
        const missing = f.CCSEQ - state.max - 1;
        this.#sequenceGaps++;
        this.#metrics.inc(SEQUENCE_GAPS, { source: SOURCE });
        const sub = `0~${f.M}~${f.FSYM}~${f.TSYM}`;
        this.#log.warn(
          "trade sequence gap on {sub}: expected CCSEQ {expected}, got {got} ({missing} missing); resubscribing",
          {
            sub,
            expected: state.max + 1,
            got: f.CCSEQ,
            missing,
          },
        );
        s.send({ action: "SubRemove", subs: [sub] });
        s.send({ action: "SubAdd", subs: [sub] });
      }
      if (f.CCSEQ > state.max) state.max = f.CCSEQ;
    }
    this.#emit({ kind: "trade", value: toTrade(f) });
  }

  #onRateLimit(frame: z.infer<typeof controlFrame>, s: SocketSession): void {
    const message = frame.MESSAGE ?? "";
    this.#metrics.inc(UPSTREAM_REQUESTS, { source: SOURCE, status: "rate_limited" });
    if (message.startsWith("TOO_MANY_SUBSCRIPTIONS")) {
      this.#log.error("stream rate limit (TYPE 429): {message}; reduce the subscriptions", { message });
      return;
    }
    this.#log.warn("stream rate limit (TYPE 429): {message}; reconnecting with backoff", { message });
    s.reconnect(`rate limited: ${message}`);
  }

  #onServerError(frame: z.infer<typeof controlFrame>, s: SocketSession): void {
    const message = frame.MESSAGE ?? "";
    const parameter = (frame as Record<string, unknown>).PARAMETER;
    if (message === "SUBSCRIPTION_ALREADY_ACTIVE") return;
    if (message === "FORCE_DISCONNECT") {
      this.#log.warn("stream force-disconnected by the server (TYPE 500); reconnecting");
      s.reconnect("force disconnect");
      return;
    }
    if (message === "INVALID_SUB" || message === "SUBSCRIPTION_UNRECOGNIZED") {
      this.#metrics.inc(SUBSCRIBE_FAILURES, { source: SOURCE });
      this.#metrics.inc(UPSTREAM_REQUESTS, { source: SOURCE, status: "bad_request" });
      this.#log.error("stream refused subscription {sub} (TYPE 500 {message}): {info}", {
        sub: parameter,
        message,
        info: (frame as Record<string, unknown>).INFO,
      });
      return;
    }
    this.#metrics.inc(UPSTREAM_REQUESTS, { source: SOURCE, status: "retriable" });
    this.#log.error("stream error (TYPE 500 {message}): {info}", {
      message,
      info: (frame as Record<string, unknown>).INFO,
    });
  }

  #parsed<S extends z.ZodType>(schema: S, raw: unknown, where: string, then: (f: z.infer<S>) => void): void {
    const parsed = schema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      reportMalformed(this.#malformedSink, raw, where, describeIssues(parsed.error), parsed.error);
    } else then(parsed.data);
  }

  #emit(record: Parameters<RecordHandler>[0]): void {
    this.#metrics.inc(RECORDS_OUT, { source: SOURCE, kind: record.kind });
    handOn(this.#options.onRecord, record, this.#log);
  }
}

function reasonLabel(reason: string): string {
  if (reason.startsWith("no heartbeat")) return "heartbeat";
  if (reason.startsWith("rate limited")) return "rate_limited";
  if (reason.startsWith("cannot connect")) return "connect_failed";
  if (reason === "force disconnect") return "force_disconnect";
  if (reason.startsWith("stream refused")) return "auth";
  return "closed";
}
