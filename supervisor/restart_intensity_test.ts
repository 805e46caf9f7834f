import assert from "node:assert/strict";
import { RestartIntensity } from "./restart_intensity.ts";

Deno.test("intensity allows `intensity` restarts per sliding period and refuses the next", () => {
  const r = new RestartIntensity(2, 1000);
  assert.equal(r.record(0), true);
  assert.equal(r.record(500), true);
  assert.equal(r.record(900), false, "third restart within 1 s");
  assert.equal(r.recent(900), 3);
});

Deno.test("restarts older than the period slide out of the window", () => {
  const r = new RestartIntensity(1, 5000);
  assert.equal(r.record(0), true);
  assert.equal(r.record(5000), true, "the first one is exactly one period old");
  assert.equal(r.record(6000), false);
});

Deno.test("intensity 0 refuses every restart; bad arguments are RangeErrors", () => {
  assert.equal(new RestartIntensity(0, 1000).record(0), false);
  assert.throws(() => new RestartIntensity(-1, 1000), RangeError);
  assert.throws(() => new RestartIntensity(1, 0), RangeError);
});
