import assert from "node:assert/strict";
import { CreditRateLimiter } from "./credit_rate_limiter.ts";

Deno.test("credit rate limiter: the budget passes at once, the next credits wait for the window", async () => {
  const limiter = new CreditRateLimiter({ credits: 4, windowMs: 400 });
  const started = performance.now();
  for (let i = 0; i < 4; i++) await limiter.acquire(1);
  assert.ok(performance.now() - started < 50);
  await limiter.acquire(2); // the first spends leave the window after 400 ms
  const waited = performance.now() - started;
  assert.ok(waited >= 390 && waited < 800, `waited ${waited} ms`);
  assert.equal(limiter.available, 2);
});

Deno.test("credit rate limiter: drain empties the bucket; abort ends a wait; cost above budget is refused", async () => {
  const limiter = new CreditRateLimiter({ credits: 2, windowMs: 60_000 });
  limiter.drain();
  assert.equal(limiter.available, 0);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("stopped")), 30);
  await assert.rejects(limiter.acquire(1, controller.signal), /stopped/);
  assert.throws(() => limiter.acquire(3), RangeError);
});

Deno.test("credit rate limiter: a drained budget comes back one window later", async () => {
  let now = 1000;
  const limiter = new CreditRateLimiter({ credits: 3, windowMs: 1000, now: () => now });
  await limiter.acquire(1);
  limiter.drain();
  assert.equal(limiter.available, 0);
  now = 1999;
  assert.equal(limiter.available, 0);
  now = 2000;
  assert.equal(limiter.available, 3);
});
