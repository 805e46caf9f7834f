/**
 * What the market-data REST clients (CryptoCompare history, Twelve Data) share: their common options, and one
 * request as each of them makes it — fetch JSON, classify the answer with the upstream's own rules, count the
 * outcome in `source_upstream_requests_total{source,status}`, and log and throw a failure (warn when it is
 * retriable, error when not).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CircuitBreaker } from "./circuit_breaker.ts";
import { fetchJson, type FetchJsonOptions, type JsonResponse } from "./fetch_json.ts";
import type { MalformedPayloadError } from "../sources/malformed_payload_error.ts";
import type { RetryOptions } from "./retry.ts";
import { type MetricsSink, UPSTREAM_REQUESTS } from "./source_metrics.ts";
import type { UpstreamError } from "./upstream_error.ts";
import type { RecordHandler } from "../sources/market_record.ts";
import type { SocketStatus } from "./reconnecting_websocket.ts";
import type { BackoffOptions } from "../../core/backoff_delay.ts";

/** Options every upstream client takes, REST or streaming (each client states its own defaults). */
export interface UpstreamOptions {
  /** API key (usually from the environment); each client sends it where its upstream wants it. */
  apiKey?: string;
  /** The breaker guarding this upstream (REST: 5 failures open it for 30 s; streams: 5 failed connects, 60 s). */
  breaker?: CircuitBreaker;
  /** Metrics sink. Default the process registry. */
  metrics?: MetricsSink;
  /** Logger. Default `qistream.sources.<source>`. */
  log?: Logger;
  /** Receives payloads that fail validation; they are skipped and the client goes on. */
  onMalformed?: (raw: unknown, error: MalformedPayloadError) => void;
}

/** Options of the upstream REST clients. */
export interface UpstreamClientOptions extends UpstreamOptions {
  /** Base URL; default the upstream's real endpoint. */
  baseUrl?: string;
  /** Retries of retriable failures (attempts, backoff). */
  retry?: Omit<RetryOptions, "signal" | "onRetry">;
  /** Request timeout in ms. Default 10 000. */
  timeoutMs?: number;
  /** The fetch implementation. */
  fetch?: typeof fetch;
}

/** Options of the upstream streaming (WebSocket) clients. */
export interface UpstreamStreamOptions extends UpstreamOptions {
  /** Endpoint; default the upstream's real one. */
  url?: string;
  /** Receives each normalised record (not awaited). */
  onRecord: RecordHandler;
  /** Status changes of the connection, for logs and tests. */
  onStatus?: (status: SocketStatus) => void;
  /** Reconnect backoff (each stream states its default). */
  backoff?: BackoffOptions;
}

/** One request of {@linkcode fetchUpstream}. */
export interface UpstreamRequest extends Omit<FetchJsonOptions, "metrics"> {
  /** What is being fetched, for logs and errors, e.g. `histoday BTC/USD`. */
  what: string;
  /** The client's metrics sink. */
  metrics: MetricsSink;
  /** The client's logger. */
  log: Logger;
  /** The upstream's rules: the error an answer stands for, or `undefined` for a good one. */
  classify(status: number, body: unknown): UpstreamError | undefined;
}

/**
 * Fetches one upstream JSON answer and classifies it.
 *
 * @param url the request URL
 * @param request source, headers, timeout, metrics, logger and the upstream's classifier
 * @returns the response of a good answer
 * @throws {UpstreamError} the classified failure (network failures and timeouts too, from `fetchJson`)
 *
 * @example
 * ```ts
 * const { body } = await fetchUpstream(url, { source: "twelvedata", what, metrics, log, classify });
 * ```
 */
export async function fetchUpstream(url: URL, request: UpstreamRequest): Promise<JsonResponse> {
  const { what, log, metrics, classify, ...fetchOptions } = request;
  const response = await fetchJson(url, { ...fetchOptions, metrics });
  const error = classify(response.status, response.body);
  if (error) {
    metrics.inc(UPSTREAM_REQUESTS, { source: request.source, status: error.kind });
    const level = error.retriable ? "warn" : "error";
    log[level]("{what}: {kind} error: {message}", { what, kind: error.kind, message: error.message });
    throw error;
  }
  metrics.inc(UPSTREAM_REQUESTS, { source: request.source, status: "ok" });
  return response;
}

/**
 * The `onRetry` of an upstream request: one warning per retry, naming the request, the failure's kind, the try
 * and the wait.
 *
 * @param log the client's logger
 * @param what the request, e.g. `GET /time_series BTC/USD`
 * @returns the callback for `retry()`
 */
export function logRetry(log: Logger, what: string): NonNullable<RetryOptions["onRetry"]> {
  return (e, attempt, delayMs) =>
    log.warn("{what} failed ({kind}), retry {attempt} in {delayMs} ms: {error}", {
      what,
      kind: (e as UpstreamError).kind ?? "unknown",
      attempt: attempt + 1,
      delayMs,
      error: (e as Error).message,
    });
}
