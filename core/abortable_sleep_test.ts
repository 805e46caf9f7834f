import assert from "node:assert/strict";
import { abortableSleep, sleepOrAbort } from "./abortable_sleep.ts";

Deno.test("sleepOrAbort waits the given time when nothing aborts", async () => {
  const started = performance.now();
  assert.equal(await sleepOrAbort(60, new AbortController().signal), true);
  assert.ok(performance.now() - started >= 50, "it returned before the time was up");
});

Deno.test("sleepOrAbort resolves early, without rejecting, when the signal aborts", async () => {
  const stop = new AbortController();
  const started = performance.now();
  setTimeout(() => stop.abort(new Error("stop")), 20);
  assert.equal(await sleepOrAbort(10_000, stop.signal), false);
  assert.ok(performance.now() - started < 5_000, "the abort did not end the wait");
});

Deno.test("sleepOrAbort resolves at once for an already aborted signal", async () => {
  const stop = new AbortController();
  stop.abort();
  const started = performance.now();
  await sleepOrAbort(10_000, stop.signal);
  assert.ok(performance.now() - started < 1_000);
});

Deno.test("abortableSleep rejects with the signal's reason when it aborts, and at once when already aborted", async () => {
  const stop = new AbortController();
  const reason = new Error("stop");
  setTimeout(() => stop.abort(reason), 20);
  await assert.rejects(abortableSleep(10_000, stop.signal), (e) => e === reason);
  await assert.rejects(abortableSleep(10_000, stop.signal), (e) => e === reason);
  await abortableSleep(5); // no signal: just waits
});
