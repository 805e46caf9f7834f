import assert from "node:assert/strict";
import { interruptibleSleep } from "./_interruptible_sleep.ts";

Deno.test("interruptibleSleep waits the given time when nothing aborts", async () => {
  const started = performance.now();
  await interruptibleSleep(60, new AbortController().signal);
  assert.ok(performance.now() - started >= 50, "it returned before the time was up");
});

Deno.test("interruptibleSleep resolves early, without rejecting, when the signal aborts", async () => {
  const stop = new AbortController();
  const started = performance.now();
  setTimeout(() => stop.abort(new Error("stop")), 20);
  await interruptibleSleep(10_000, stop.signal);
  assert.ok(performance.now() - started < 5_000, "the abort did not end the wait");
});

Deno.test("interruptibleSleep resolves at once for an already aborted signal", async () => {
  const stop = new AbortController();
  stop.abort();
  const started = performance.now();
  await interruptibleSleep(10_000, stop.signal);
  assert.ok(performance.now() - started < 1_000);
});
