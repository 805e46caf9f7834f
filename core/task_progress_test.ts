import assert from "node:assert/strict";
import { progressLine, ProgressMeter } from "./task_progress.ts";

Deno.test("task progress: percent, rate and ETA from reports; a new run starts over", () => {
  let now = 1_000_000;
  const meter = new ProgressMeter(() => now);
  meter.report("replay", 0, 300);
  now += 2000;
  const half = meter.report("replay", 150, 300);
  assert.equal(half.percent, 50);
  assert.equal(half.ratePerSecond, 75);
  assert.equal(half.etaSeconds, 2);
  assert.equal(progressLine(half), "replay 150/300 (50%), 75/s, ETA 2 s");
  now += 2000;
  const done = meter.report("replay", 300, 300, true);
  assert.equal(done.etaSeconds, 0);
  assert.equal(progressLine(done), "replay 300/300 (100%), 75/s, done");
  now += 1000;
  const again = meter.report("replay", 10, 300);
  assert.equal(again.startedAt, new Date(now).toISOString(), "a new run of the task starts over");
  const open = meter.report("backfill", 40);
  assert.equal(open.total, undefined);
  assert.equal(open.etaSeconds, undefined, "no ETA without a total");
  assert.deepEqual(meter.tasks().map((t) => t.task), ["replay", "backfill"]);
  assert.throws(() => meter.report("x", -1), RangeError);
});
