import assert from "node:assert/strict";
import { retry } from "./retry.ts";
import { UpstreamError } from "./upstream_error.ts";
import { backoffDelay } from "../../core/backoff_delay.ts";

Deno.test("retry: retries retriable errors with backoff, then succeeds", async () => {
  const delays: number[] = [];
  let calls = 0;
  const value = await retry(() => {
    calls++;
    if (calls < 3) throw new UpstreamError("boom", { source: "x", kind: "retriable" });
    return Promise.resolve("ok");
  }, { initialMs: 5, jitter: 0, onRetry: (_e, _a, d) => delays.push(d) });
  assert.equal(value, "ok");
  assert.equal(calls, 3);
  assert.deepEqual(delays, [5, 10]);
});

Deno.test("retry: auth and bad_request errors are not retried", async () => {
  for (const kind of ["auth", "bad_request"] as const) {
    let calls = 0;
    await assert.rejects(
      retry(() => {
        calls++;
        throw new UpstreamError("no", { source: "x", kind });
      }, { initialMs: 1 }),
      (e) => e instanceof UpstreamError && e.kind === kind,
    );
    assert.equal(calls, 1);
  }
});

Deno.test("retry: gives up after the attempts and rethrows the last error", async () => {
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      throw new UpstreamError(`try ${calls}`, { source: "x", kind: "retriable" });
    }, { attempts: 3, initialMs: 1 }),
    /try 3/,
  );
  assert.equal(calls, 3);
});

Deno.test("retry: honours retryAfterMs and an abort during the wait", async () => {
  const controller = new AbortController();
  const started = performance.now();
  setTimeout(() => controller.abort(new Error("stop")), 50);
  await assert.rejects(
    retry(() => {
      throw new UpstreamError("slow down", { source: "x", kind: "rate_limited", retryAfterMs: 10_000 });
    }, { initialMs: 1, signal: controller.signal }),
    /stop/,
  );
  assert.ok(performance.now() - started < 1000);
});

Deno.test("backoffDelay: grows, caps and stays within the jitter band", () => {
  assert.equal(backoffDelay(0, { initialMs: 100, jitter: 0 }), 100);
  assert.equal(backoffDelay(4, { initialMs: 100, jitter: 0 }), 1600);
  assert.equal(backoffDelay(20, { initialMs: 100, maxMs: 5000, jitter: 0 }), 5000);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, { initialMs: 100, jitter: 0.5 });
    assert.ok(d >= 200 && d <= 600, `${d}`);
  }
  assert.throws(() => backoffDelay(0, { initialMs: 10, maxMs: 5 }), RangeError);
});
