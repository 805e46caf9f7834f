import assert from "node:assert/strict";
import { advance, initialLifecycle, LifecycleParams } from "./alert_lifecycle.ts";
import type { Severity, Signal } from "./detector.ts";

const sig = (ts: number, firing: boolean, value = 10, severity: Severity = "WARNING"): Signal => ({
  firing,
  ts,
  severity,
  value,
  threshold: 8,
  message: "m",
  observed: {},
  inputs: [],
});

Deno.test("lifecycle: open → update (worse, or a 1.5× peak) → resolve after resolveAfter calm signals → cooldown", () => {
  const p = LifecycleParams.parse({ resolveAfter: 2, cooldownMs: 1_000 });
  const s = initialLifecycle();
  const step = (x: Signal) => {
    const e = advance(s, x, p);
    return typeof e === "object" ? `${e.status}#${e.sequence}@${e.openedTs}/${e.severity}` : e;
  };
  assert.equal(step(sig(0, false)), undefined);
  assert.equal(step(sig(10, true, 10)), "OPEN#0@10/WARNING");
  assert.equal(step(sig(20, true, 12)), undefined, "not 1.5× the peak");
  assert.equal(step(sig(30, true, 15)), "UPDATE#1@10/WARNING");
  assert.equal(step(sig(40, true, 15, "CRITICAL")), "UPDATE#2@10/CRITICAL");
  assert.equal(step(sig(50, false)), undefined);
  assert.equal(step(sig(60, true, 1)), undefined, "firing again resets the calm count");
  assert.equal(step(sig(70, false)), undefined);
  assert.equal(step(sig(80, false)), "RESOLVE#3@10/CRITICAL");
  assert.equal(step(sig(500, true)), "suppressed");
  assert.equal(s.suppressed, 1);
  assert.equal(step(sig(1_080, true)), "OPEN#0@1080/WARNING", "after the cooldown a new alert opens");
});
