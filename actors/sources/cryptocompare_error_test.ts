import assert from "node:assert/strict";
import { cryptoCompareError } from "./cryptocompare_error.ts";

Deno.test("cryptocompare errors: the rate-limit wait runs to the end of the exceeded window", () => {
  const body = {
    Response: "Error",
    Message: "You are over your rate limit please upgrade your account!",
    Type: 99,
    RateLimit: { calls_made: { second: 1, minute: 300 }, max_calls: { second: 20, minute: 300 } },
  };
  const e = cryptoCompareError(200, body, "GET x", 60_000 * 10 + 15_000)!;
  assert.equal(e.kind, "rate_limited");
  assert.equal(e.retryAfterMs, 45_000);
  assert.equal(cryptoCompareError(200, { Response: "Success", Data: {} }, "GET x"), undefined);
  assert.equal(cryptoCompareError(503, {}, "GET x")!.kind, "retriable");
  assert.equal(cryptoCompareError(403, { Data: {}, Err: { type: 2, message: "no" } }, "GET x")!.kind, "auth");
});
