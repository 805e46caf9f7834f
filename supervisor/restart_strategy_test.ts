import assert from "node:assert/strict";
import { oneForAll, oneForOne, restForOne, shouldRestart } from "./mod.ts";

const order = ["a", "b", "c", "d"];

Deno.test("strategies pick the children to restart, in start order", () => {
  assert.deepEqual(oneForOne.affected(order, "b"), ["b"]);
  assert.deepEqual(oneForAll.affected(order, "b"), ["a", "b", "c", "d"]);
  assert.deepEqual(restForOne.affected(order, "b"), ["b", "c", "d"]);
  assert.deepEqual(restForOne.affected(order, "d"), ["d"]);
});

Deno.test("restart types follow OTP", () => {
  const crash = { kind: "crashed" as const, reason: "x", error: new Error("x") };
  assert.equal(shouldRestart("permanent", { kind: "normal" }), true);
  assert.equal(shouldRestart("transient", { kind: "normal" }), false);
  assert.equal(shouldRestart("transient", { kind: "shutdown" }), false);
  assert.equal(shouldRestart("transient", crash), true);
  assert.equal(shouldRestart("transient", { kind: "killed" }), true);
  assert.equal(shouldRestart("temporary", crash), false);
});
