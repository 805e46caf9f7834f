/**
 * Classifies Twelve Data errors: a JSON body `{"code":..,"message":..,"status":"error"}`, which may arrive
 * with HTTP 200, so the body's `status`/`code` decide, not the HTTP status.
 *
 * @module
 */
import { httpStatusError, kindOfStatus, UpstreamError } from "../shared/upstream_error.ts";

const SOURCE = "twelvedata";

/**
 * The error a Twelve Data response carries, if any.
 *
 * @param status HTTP status
 * @param body parsed JSON body
 * @param what what was requested, e.g. `GET /quote AAPL`
 * @param creditWindowMs the credit window, to compute how long a 429 lasts (until the next minute)
 * @param now clock (ms)
 * @returns the classified error, or undefined for a success
 */
export function twelveDataError(
  status: number,
  body: unknown,
  what: string,
  creditWindowMs = 60_000,
  now = Date.now(),
): UpstreamError | undefined {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (b.status === "error" || (status >= 400 && typeof b.code === "number")) {
    const code = typeof b.code === "number" ? b.code : status >= 400 ? status : 500;
    const message = typeof b.message === "string" ? b.message : "unknown error";
    const kind = kindOfStatus(code);
    return new UpstreamError(`${what} failed (HTTP ${status}, code ${code}): ${message}`, {
      source: SOURCE,
      kind,
      status,
      code,
      ...(kind === "rate_limited" ? { retryAfterMs: creditWindowMs - (now % creditWindowMs) } : {}),
    });
  }
  return httpStatusError(SOURCE, what, status);
}
