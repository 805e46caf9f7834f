/**
 * Classifies CryptoCompare's two error shapes: the legacy HTTP 200 body `{"Response":"Error",...}` and
 * the newer 4xx body `{"Data":{},"Err":{type,message,http_status_code}}`.
 *
 * @module
 */
import {
  httpStatusError,
  kindOfStatus,
  UpstreamError,
  type UpstreamErrorKind,
} from "../shared/upstream_error.ts";

const SOURCE = "cryptocompare";

type Limits = Partial<Record<"second" | "minute" | "hour" | "day" | "month", number>>;

/**
 * The error a CryptoCompare response carries, if any.
 *
 * @param status HTTP status
 * @param body parsed JSON body
 * @param what what was requested, e.g. `GET /data/v2/histoday BTC/USD`
 * @param now clock (ms), used to compute how long a rate limit lasts
 * @returns the classified error, or undefined for a success
 */
export function cryptoCompareError(
  status: number,
  body: unknown,
  what: string,
  now = Date.now(),
): UpstreamError | undefined {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const err = b.Err as Record<string, unknown> | undefined;
  if (typeof err === "object" && err !== null && Object.keys(err).length > 0) {
    const code = typeof err.http_status_code === "number" ? err.http_status_code : status;
    const message = typeof err.message === "string" ? err.message : JSON.stringify(err);
    const kind = kindOfStatus(code >= 400 ? code : status >= 400 ? status : 500);
    return new UpstreamError(`${what} failed (HTTP ${status}, Err type ${err.type ?? "?"}): ${message}`, {
      source: SOURCE,
      kind,
      status,
      code: typeof err.type === "number" || typeof err.type === "string" ? err.type : code,
      ...(kind === "rate_limited" ? { retryAfterMs: 1000 } : {}),
    });
  }
  if (b.Response === "Error") {
    const message = typeof b.Message === "string" ? b.Message : "unknown error";
    const kind = legacyKind(message, status);
    const rateLimit = b.RateLimit as { calls_made?: Limits; max_calls?: Limits } | undefined;
    const retryAfterMs = kind === "rate_limited" ? rateLimitWait(rateLimit, now) : undefined;
    return new UpstreamError(
      `${what} failed (HTTP ${status}, Response Error, Type ${b.Type ?? "?"}): ${message}`,
      {
        source: SOURCE,
        kind,
        status,
        ...(typeof b.Type === "number" ? { code: b.Type } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      },
    );
  }
  return httpStatusError(SOURCE, what, status);
}

function legacyKind(message: string, status: number): UpstreamErrorKind {
  if (/rate limit|too many/i.test(message)) return "rate_limited";
  if (/api.?key|auth|unauthori[sz]ed|permission|subscription/i.test(message)) return "auth";
  if (
    /missing|invalid|not valid|does not exist|no data|not found|param|only available|limit is/i.test(message)
  ) {
    return "bad_request";
  }
  return status >= 400 ? kindOfStatus(status) : "retriable";
}

/** How long until the exceeded rate-limit window (second, minute, hour...) rolls over. */
function rateLimitWait(
  rateLimit: { calls_made?: Limits; max_calls?: Limits } | undefined,
  now: number,
): number {
  const made = rateLimit?.calls_made ?? {};
  const max = rateLimit?.max_calls ?? {};
  const windows: Array<[keyof Limits, number]> = [
    ["month", 30 * 86_400_000],
    ["day", 86_400_000],
    [
      "hour",
      3_600_000,
    ],
    ["minute", 60_000],
    ["second", 1000],
  ];
  for (const [name, ms] of windows) {
    const m = made[name];
    const x = max[name];
    if (m !== undefined && x !== undefined && m >= x) return name === "month" ? ms : ms - (now % ms);
  }
  return 1000;
}
