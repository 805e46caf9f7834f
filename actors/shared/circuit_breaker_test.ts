import assert from "node:assert/strict";
import { CircuitBreaker, CircuitOpenError } from "./circuit_breaker.ts";
import { UpstreamError } from "./upstream_error.ts";

const fail = () => Promise.reject(new UpstreamError("down", { source: "x", kind: "retriable" }));

Deno.test("circuit breaker: opens after the threshold, half-opens after openMs, closes on success", async () => {
  let now = 0;
  const states: string[] = [];
  const breaker = new CircuitBreaker({
    name: "x",
    failureThreshold: 2,
    openMs: 1000,
    now: () => now,
    onStateChange: (s) => states.push(s),
  });
  await assert.rejects(breaker.call(fail), UpstreamError);
  assert.equal(breaker.state, "closed");
  await assert.rejects(breaker.call(fail), UpstreamError);
  assert.equal(breaker.state, "open");
  let called = false;
  await assert.rejects(
    breaker.call(() => {
      called = true;
      return Promise.resolve(1);
    }),
    (e) => e instanceof CircuitOpenError && e.retryAfterMs === 1000 && e.retriable,
  );
  assert.equal(called, false);
  now = 1000;
  assert.equal(breaker.state, "half-open");
  assert.equal(await breaker.call(() => Promise.resolve(7)), 7);
  assert.equal(breaker.state, "closed");
  assert.deepEqual(states, ["open", "half-open", "closed"]);
});

Deno.test("circuit breaker: a failed trial opens it again; bad requests do not count", async () => {
  let now = 0;
  const breaker = new CircuitBreaker({ name: "x", failureThreshold: 1, openMs: 100, now: () => now });
  await assert.rejects(
    breaker.call(() => Promise.reject(new UpstreamError("bad", { source: "x", kind: "bad_request" }))),
  );
  assert.equal(breaker.state, "closed");
  await assert.rejects(breaker.call(fail));
  now = 150;
  await assert.rejects(breaker.call(fail), UpstreamError);
  assert.equal(breaker.state, "open");
  assert.equal(breaker.remainingOpenMs, 100);
});
