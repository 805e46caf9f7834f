/**
 * One upstream HTTP GET returning parsed JSON, timed into `source_upstream_latency_seconds`, with
 * network failures and non-JSON bodies turned into retriable {@link UpstreamError}s.
 *
 * @module
 */
import { networkError, UpstreamError } from "./upstream_error.ts";
import { type MetricsSink, UPSTREAM_LATENCY, UPSTREAM_REQUESTS } from "./source_metrics.ts";

/** Options of {@link fetchJson}. */
export interface FetchJsonOptions {
  /** The upstream, for errors and metric labels. */
  source: string;
  /** Request headers (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Per-request timeout in ms. Default 10 000. */
  timeoutMs?: number;
  /** Metrics sink for latency (and network failures). */
  metrics?: MetricsSink;
  /** The fetch implementation. Default the global `fetch`. */
  fetch?: typeof fetch;
}

/** A parsed response. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * GETs `url` and parses the body as JSON whatever the status.
 *
 * @param url the full URL
 * @param options source, headers, signal, timeout
 * @returns status, headers and parsed body
 * @throws {UpstreamError} retriable, for network failures, timeouts and bodies that are not JSON
 * @throws the signal's reason when aborted by the caller
 */
export async function fetchJson(url: string | URL, options: FetchJsonOptions): Promise<JsonResponse> {
  const { source } = options;
  const path = new URL(url).pathname;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await (options.fetch ?? fetch)(url, { headers: options.headers, signal });
    text = await response.text();
  } catch (e) {
    options.signal?.throwIfAborted();
    options.metrics?.inc(UPSTREAM_REQUESTS, { source, status: "network" });
    const cause = timeout.aborted ? new Error(`timed out after ${options.timeoutMs ?? 10_000} ms`) : e;
    throw networkError(source, `GET ${path}`, cause);
  } finally {
    options.metrics?.observe(UPSTREAM_LATENCY, (performance.now() - started) / 1000, { source });
  }
  try {
    return { status: response.status, headers: response.headers, body: JSON.parse(text) };
  } catch (e) {
    options.metrics?.inc(UPSTREAM_REQUESTS, { source, status: "retriable" });
    throw new UpstreamError(
      `GET ${path} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 80)}`,
      {
        source,
        kind: response.status === 429 ? "rate_limited" : "retriable",
        status: response.status,
        cause: e,
      },
    );
  }
}
