/**
 * Plumbing shared by the market-data sources: typed upstream errors, retries with backoff and jitter,
 * a circuit breaker per upstream, a per-minute credit rate limiter, the websocket reconnect loop and
 * the source metric families.
 *
 * @module
 */
export { abortableSleep } from "../../core/abortable_sleep.ts";
export { fetchJson, type FetchJsonOptions, type JsonResponse } from "./fetch_json.ts";
export { backoffDelay, type BackoffOptions } from "../../core/backoff_delay.ts";
export { retry, type RetryOptions } from "./retry.ts";
export { isRetriable, retriableOf } from "../../core/retriable.ts";
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
  type CircuitState,
} from "./circuit_breaker.ts";
export { CreditRateLimiter, type CreditRateLimiterOptions } from "./credit_rate_limiter.ts";
export {
  kindOfStatus,
  networkError,
  UpstreamError,
  type UpstreamErrorKind,
  type UpstreamErrorOptions,
} from "./upstream_error.ts";
export {
  type ReconnectingWebSocketOptions,
  runReconnectingWebSocket,
  type SocketSession,
  type SocketStatus,
} from "./reconnecting_websocket.ts";
export {
  MALFORMED,
  MemoryMetrics,
  type MetricsSink,
  RECONNECTS,
  RECORDS_OUT,
  registrySink,
  SEQUENCE_GAPS,
  SUBSCRIBE_FAILURES,
  UPSTREAM_LATENCY,
  UPSTREAM_REQUESTS,
} from "./source_metrics.ts";
