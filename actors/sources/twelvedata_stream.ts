/**
 * The Twelve Data websocket price stream (`wss://ws.twelvedata.com/v1/quotes/price`): subscribes to
 * symbols, sends `{"action":"heartbeat"}` every 10 s, logs and counts the symbols a `subscribe-status`
 * reports as failed (partial failure is normal), turns `price` events into ticks, and reconnects with
 * backoff (resubscribing) when the connection drops or falls silent.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { z } from "zod";
import { fromSlashSymbol, toSlashSymbol } from "./market_symbol.ts";
import { anyEvent, priceEvent, subscribeStatusEvent } from "./twelvedata_payloads.ts";
import { describeIssues } from "./malformed_payload_error.ts";
import { CircuitBreaker } from "../shared/circuit_breaker.ts";
import { runReconnectingWebSocket, type SocketSession } from "../shared/reconnecting_websocket.ts";
import {
  type MetricsSink,
  RECONNECTS,
  RECORDS_OUT,
  SUBSCRIBE_FAILURES,
  UPSTREAM_REQUESTS,
} from "../shared/source_metrics.ts";
import { handOn, type MalformedSink, reportMalformed, sourceOutput } from "./source_output.ts";
import type { UpstreamStreamOptions } from "../shared/upstream_client.ts";

/** The real streaming endpoint (the default). */
export const TWELVEDATA_WS_URL = "wss://ws.twelvedata.com/v1/quotes/price";

/**
 * Options of {@link TwelveDataStream}: the API key goes in the URL as `apikey` (usually `TWELVEDATA_API_KEY`); the
 * endpoint defaults to {@link TWELVEDATA_WS_URL}; the reconnect backoff runs from 1 s up to 60 s; the breaker opens
 * after 5 failed connects for 60 s.
 */
export interface TwelveDataStreamOptions extends UpstreamStreamOptions {
  /** Symbols, Twelve Data (`EUR/USD`) or normalised (`EUR-USD`) spelling. */
  symbols: string[];
  /** Heartbeat period. Default 10 000 ms; no message for 3 periods forces a reconnect. */
  heartbeatMs?: number;
}

const SOURCE = "twelvedata";

/**
 * The streaming client; {@link run} keeps the stream up until the signal aborts.
 *
 * @example
 * ```ts
 * const stream = new TwelveDataStream({
 *   apiKey: Deno.env.get("TWELVEDATA_API_KEY"),
 *   symbols: ["AAPL", "EUR/USD", "BTC/USD"],
 *   onRecord: (r) => void publish(r),
 * });
 * await stream.run(ctx.signal);
 * ```
 */
export class TwelveDataStream {
  readonly symbols: readonly string[];
  readonly #options: TwelveDataStreamOptions;
  readonly #metrics: MetricsSink;
  readonly #log: Logger;
  readonly #malformedSink: MalformedSink;
  #failed = new Set<string>();

  constructor(options: TwelveDataStreamOptions) {
    if (options.symbols.length === 0) throw new RangeError("Cannot stream Twelve Data: symbols is empty");
    this.#options = options;
    this.symbols = options.symbols.map(toSlashSymbol);
    this.#malformedSink = sourceOutput(SOURCE, options);
    this.#metrics = this.#malformedSink.metrics;
    this.#log = this.#malformedSink.log;
  }

  /** Symbols the last subscribe-status reported as failed. */
  get failedSymbols(): string[] {
    return [...this.#failed];
  }

  /**
   * Streams until `signal` aborts.
   *
   * @param signal stops the stream
   * @returns resolves when stopped
   */
  run(signal: AbortSignal): Promise<void> {
    const base = this.#options.url ?? TWELVEDATA_WS_URL;
    const heartbeatMs = this.#options.heartbeatMs ?? 10_000;
    return runReconnectingWebSocket({
      url: () => {
        const url = new URL(base);
        if (this.#options.apiKey) url.searchParams.set("apikey", this.#options.apiKey);
        return url.href;
      },
      signal,
      backoff: { initialMs: 1000, maxMs: 60_000, jitter: 0.2, ...this.#options.backoff },
      silenceTimeoutMs: heartbeatMs * 3,
      keepalive: { intervalMs: heartbeatMs, message: { action: "heartbeat" } },
      breaker: this.#options.breaker ?? new CircuitBreaker({ name: `${SOURCE}-ws`, openMs: 60_000 }),
      onOpen: (s) => s.send({ action: "subscribe", params: { symbols: this.symbols.join(",") } }),
      onMessage: (data, s) => this.#onMessage(data, s),
      onStatus: (status) => {
        if (status.type === "closed" && status.reason !== "stopped") {
          const reason = status.reason.startsWith("no heartbeat") ? "heartbeat" : "closed";
          this.#metrics.inc(RECONNECTS, { source: SOURCE, reason });
          this.#log.warn("stream connection {number} closed: {reason}", { ...status });
        } else if (status.type === "waiting") {
          this.#log.info("reconnecting in {delayMs} ms (attempt {attempt})", { ...status });
        }
        this.#options.onStatus?.(status);
      },
    });
  }

  #onMessage(data: string, s: SocketSession): void {
    s.beat();
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch (e) {
      reportMalformed(this.#malformedSink, data, "ws event", `not JSON: ${(e as Error).message}`, e);
      return;
    }
    const any = anyEvent.safeParse(raw, { reportInput: true });
    if (!any.success) {
      return reportMalformed(this.#malformedSink, raw, "ws event", describeIssues(any.error), any.error);
    }
    const where = `ws event "${any.data.event}"`;
    switch (any.data.event) {
      case "price": {
        const p = priceEvent.safeParse(raw, { reportInput: true });
        if (!p.success) {
          return reportMalformed(this.#malformedSink, raw, where, describeIssues(p.error), p.error);
        }
        return this.#emitPrice(p.data);
      }
      case "subscribe-status": {
        const st = subscribeStatusEvent.safeParse(raw, { reportInput: true });
        if (!st.success) {
          return reportMalformed(this.#malformedSink, raw, where, describeIssues(st.error), st.error);
        }
        return this.#onSubscribeStatus(st.data, s);
      }
      case "heartbeat":
        if (any.data.status === "ok") s.markHealthy();
        return;
      default:
        if (any.data.status === "error") {
          this.#metrics.inc(UPSTREAM_REQUESTS, { source: SOURCE, status: "bad_request" });
          this.#log.error("stream error event {event}: {message}", {
            event: any.data.event,
            message: String(any.data.message ?? JSON.stringify(raw)),
          });
        }
    }
  }

  #onSubscribeStatus(st: z.infer<typeof subscribeStatusEvent>, s: SocketSession): void {
    const fails = st.fails ?? [];
    const success = st.success ?? [];
    this.#failed = new Set(fails.map((f) => f.symbol));
    this.#metrics.inc(UPSTREAM_REQUESTS, {
      source: SOURCE,
      status: st.status === "error" ? "bad_request" : "ok",
    });
    if (fails.length > 0) {
      this.#metrics.inc(SUBSCRIBE_FAILURES, { source: SOURCE }, fails.length);
      const detail = fails.map((f) => `${f.symbol}${f.message ? ` (${f.message})` : ""}`).join(", ");
      const level = success.length === 0 ? "error" : "warn";
      this.#log[level]("subscribe-status {status}: {ok} subscribed, {failed} failed: {detail}", {
        status: st.status,
        ok: success.length,
        failed: fails.length,
        detail,
      });
    } else {
      this.#log.info("subscribed {count} symbols", { count: success.length });
    }
    if (success.length > 0) s.markHealthy();
  }

  #emitPrice(p: z.infer<typeof priceEvent>): void {
    this.#metrics.inc(RECORDS_OUT, { source: SOURCE, kind: "tick" });
    handOn(
      this.#options.onRecord,
      {
        kind: "tick",
        value: {
          symbol: fromSlashSymbol(p.symbol),
          source: SOURCE,
          exchange: p.exchange ?? null,
          ts: Math.round(p.timestamp * 1000),
          price: p.price,
          bid: p.bid ?? null,
          ask: p.ask ?? null,
          volume: p.day_volume ?? null,
        },
      },
      this.#log,
    );
  }
}
