/**
 * The typed error every market-data source raises for an upstream failure, classified so that retry
 * loops, circuit breakers and logs can act on it without knowing the provider.
 *
 * @module
 */

/** How an upstream failure should be handled. */
export type UpstreamErrorKind = "retriable" | "auth" | "rate_limited" | "bad_request";

/** Fields of an {@link UpstreamError}. */
export interface UpstreamErrorOptions {
  /** The upstream (`cryptocompare`, `twelvedata`). */
  source: string;
  /** The classification. */
  kind: UpstreamErrorKind;
  /** HTTP status, when the error came over HTTP. */
  status?: number;
  /** The provider's own error code or type, when it sent one. */
  code?: string | number;
  /** How long the provider asked us to wait, when it said so. */
  retryAfterMs?: number;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * An upstream refused or failed a request. `retriable` is true for `retriable` and `rate_limited`
 * (after waiting); `auth` and `bad_request` need a human.
 *
 * @example
 * ```ts
 * try {
 *   await client.price("AAPL");
 * } catch (e) {
 *   if (e instanceof UpstreamError && e.kind === "auth") log.error("check TWELVEDATA_API_KEY");
 * }
 * ```
 */
export class UpstreamError extends Error {
  /** The upstream (`cryptocompare`, `twelvedata`). */
  readonly source: string;
  /** The classification. */
  readonly kind: UpstreamErrorKind;
  /** Whether trying again (after `retryAfterMs`, if set) may succeed. */
  readonly retriable: boolean;
  /** HTTP status, when the error came over HTTP. */
  readonly status?: number;
  /** The provider's own error code or type. */
  readonly code?: string | number;
  /** How long the provider asked us to wait. */
  readonly retryAfterMs?: number;

  constructor(message: string, options: UpstreamErrorOptions) {
    super(`${options.source}: ${message}`, { cause: options.cause });
    this.name = "UpstreamError";
    this.source = options.source;
    this.kind = options.kind;
    this.retriable = options.kind === "retriable" || options.kind === "rate_limited";
    if (options.status !== undefined) this.status = options.status;
    if (options.code !== undefined) this.code = options.code;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Classifies an HTTP status (or a provider's numeric error code that mirrors one).
 *
 * @param status HTTP status or provider code
 * @returns `auth` for 401/403, `rate_limited` for 429, `bad_request` for other 4xx, else `retriable`
 */
export function kindOfStatus(status: number): UpstreamErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "rate_limited";
  if (status >= 400 && status < 500 && status !== 408) return "bad_request";
  return "retriable";
}

/**
 * The error of an HTTP status that is a failure by itself (the body said nothing more).
 *
 * @param source the upstream
 * @param what what was being done
 * @param status the HTTP status
 * @returns the classified error for a status of 400 or more, else `undefined`
 */
export function httpStatusError(source: string, what: string, status: number): UpstreamError | undefined {
  if (status < 400) return undefined;
  return new UpstreamError(`${what} failed with HTTP ${status}`, {
    source,
    kind: kindOfStatus(status),
    status,
  });
}

/**
 * Wraps a network-level failure (DNS, refused connection, reset, timeout) as a retriable upstream error.
 *
 * @param source the upstream
 * @param what what was being done, e.g. `GET /data/v2/histoday`
 * @param cause the thrown error
 * @returns the classified error (or `cause` itself when it already is an {@link UpstreamError} or an abort)
 */
export function networkError(source: string, what: string, cause: unknown): Error {
  if (cause instanceof UpstreamError) return cause;
  if (cause instanceof DOMException && cause.name === "AbortError") return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new UpstreamError(`${what} failed: ${detail}`, { source, kind: "retriable", cause });
}
