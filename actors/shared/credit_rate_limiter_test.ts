import assert from "node:assert/strict";
import { CreditRateLimiter } from "./credit_rate_limiter.ts";

Deno.test("credit rate limiter: the budget passes at once, the next credit waits for the refill", async () => {
  const limiter = new CreditRateLimiter({ credits: 4, windowMs: 400 });
  const started = performance.now();
  for (let i = 0; i < 4; i++) await limiter.acquire(1);
  assert.ok(performance.now() - started < 50);
  await limiter.acquire(2); // 2 credits refill in ~200 ms
  const waited = performance.now() - started;
  assert.ok(waited >= 180 && waited < 600, `waited ${waited} ms`);
});

Deno.test("credit rate limiter: drain empties the bucket; abort ends a wait; cost above budget is refused", async () => {
  const limiter = new CreditRateLimiter({ credits: 2, windowMs: 60_000 });
  limiter.drain();
  assert.ok(limiter.available < 0.01);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("stopped")), 30);
  await assert.rejects(limiter.acquire(1, controller.signal), /stopped/);
  assert.throws(() => limiter.acquire(3), RangeError);
});
