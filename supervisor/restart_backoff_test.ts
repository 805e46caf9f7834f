import assert from "node:assert/strict";
import { RestartBackoff } from "./restart_backoff.ts";

const mid = () => 0.5; // no jitter offset

Deno.test("backoff doubles from min up to max", () => {
  const b = new RestartBackoff({ minMs: 100, maxMs: 1000, jitter: 0.2, resetAfterMs: 10_000 }, mid);
  assert.deepEqual([0, 0, 0, 0, 0, 0].map(() => b.next(0)), [100, 200, 400, 800, 1000, 1000]);
});

Deno.test("backoff resets after the child was up for resetAfterMs", () => {
  const b = new RestartBackoff({ minMs: 100, maxMs: 1000, jitter: 0, resetAfterMs: 5000 });
  b.next(0);
  b.next(0);
  assert.equal(b.next(100), 400);
  assert.equal(b.next(5000), 100);
});

Deno.test("jitter spreads the delay by at most the fraction and never beyond max", () => {
  const low = new RestartBackoff({ minMs: 100, maxMs: 1000, jitter: 0.2, resetAfterMs: 1 }, () => 0);
  const high = new RestartBackoff({ minMs: 100, maxMs: 100, jitter: 0.2, resetAfterMs: 1 }, () => 0.999);
  assert.equal(low.next(0), 80);
  assert.equal(high.next(0), 100);
  assert.throws(() => new RestartBackoff({ minMs: 10, maxMs: 5, jitter: 0, resetAfterMs: 0 }), RangeError);
  assert.throws(() => new RestartBackoff({ minMs: 0, maxMs: 5, jitter: 2, resetAfterMs: 0 }), RangeError);
});
