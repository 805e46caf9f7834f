import assert from "node:assert/strict";
import { CallerLimit } from "./caller_limit.ts";
import { QueryBusyError } from "./query_busy_error.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { open, opened };
}

Deno.test("CallerLimit refuses a caller's call beyond its cap at once, and only that caller's", async () => {
  const limit = new CallerLimit(2, "mcp.query.perCaller");
  const g = gate();
  const a1 = limit.run("a", () => g.opened.then(() => 1));
  const a2 = limit.run("a", () => g.opened.then(() => 2));
  let ran = false;
  await assert.rejects(
    () => limit.run("a", () => Promise.resolve(ran = true)),
    (e) =>
      e instanceof QueryBusyError && e.retriable &&
      /caller "a" already has 2.*mcp\.query\.perCaller = 2/.test(e.message),
  );
  assert.equal(ran, false, "the refused call did not run");
  assert.equal(
    await limit.run("b", () => Promise.resolve("b ran")),
    "b ran",
    "another caller is not affected",
  );
  g.open();
  assert.deepEqual(await Promise.all([a1, a2]), [1, 2]);
  assert.equal(limit.inFlight("a"), 0);
  assert.equal(await limit.run("a", () => Promise.resolve(3)), 3, "the slot is free again");
});

Deno.test("CallerLimit frees the slot when the call fails", async () => {
  const limit = new CallerLimit(1);
  await assert.rejects(() => limit.run("a", () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(limit.inFlight("a"), 0);
  assert.equal(await limit.run("a", () => Promise.resolve("ok")), "ok");
  assert.throws(() => new CallerLimit(0), RangeError);
});
