/**
 * The one error an LLM exchange fails with: a `reason` (the `llm_errors_total{reason}` label), `retriable`
 * (whether another attempt may succeed) and, for rate limits, how long the endpoint asked us to wait.
 *
 * @module
 */

/** Why an LLM exchange failed. */
export type LlmErrorReason =
  | "rate_limited"
  | "server_error"
  | "timeout"
  | "connection"
  | "malformed"
  | "bad_request"
  | "auth"
  | "circuit_open"
  | "budget_exhausted"
  | "limit_reached"
  | "invalid_output";

const RETRIABLE: ReadonlySet<LlmErrorReason> = new Set([
  "rate_limited",
  "server_error",
  "timeout",
  "connection",
  "malformed",
  "circuit_open",
]);

/** An LLM exchange failed; `reason` says why, `retriable` whether to try again. */
export class LlmError extends Error {
  override name = "LlmError";
  /** Why it failed. */
  readonly reason: LlmErrorReason;
  /** Whether another attempt may succeed (rate limits, 5xx, timeouts, malformed bodies, an open circuit). */
  readonly retriable: boolean;
  /** The wait the endpoint asked for (`Retry-After`), in ms. */
  readonly retryAfterMs?: number;
  /** The HTTP status, when there was one. */
  readonly status?: number;

  constructor(
    reason: LlmErrorReason,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.retriable = RETRIABLE.has(reason);
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
  }
}
