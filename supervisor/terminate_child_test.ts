import assert from "node:assert/strict";
import { actorChild, type ActorHandle, oneForAll, Supervisor, type SupervisorNode } from "./mod.ts";
import { makeBatch } from "../tests/agents/batch.ts";

const ECHO = new URL("../tests/agents/echo.ts", import.meta.url);
const CRASHING = new URL("../tests/agents/crashing.ts", import.meta.url);
const FAST = { minMs: 0, maxMs: 0, jitter: 0, resetAfterMs: 60_000 };

const stateOf = (sup: Supervisor, id: string) =>
  (sup.snapshot() as SupervisorNode).children.find((c) => c.id === id)?.state;

Deno.test("terminateChild keeps a child stopped (no restart, even under one_for_all); restartChild starts it", async () => {
  const sup = await Supervisor.start({
    id: "root",
    strategy: oneForAll,
    intensity: 5,
    backoff: FAST,
    children: [
      actorChild({ id: "a", module: ECHO, shutdown: 1000 }),
      actorChild({ id: "b", module: CRASHING, shutdown: 1000 }),
    ],
  });
  try {
    await sup.terminateChild("a");
    assert.equal(sup.child("a"), undefined);
    assert.equal(stateOf(sup, "a"), "stopped");
    await sup.terminateChild("a"); // idempotent

    // A crash of a sibling restarts the running children, not the terminated one.
    const restarted = new Promise<void>((resolve) => {
      const off = sup.onEvent((e) => {
        if (e.type === "child_started" && e.path === "root/b") {
          off();
          resolve();
        }
      });
    });
    await (sup.child("b") as ActorHandle).send(makeBatch("boom", ["uncaught"])).catch(() => {});
    await restarted;
    assert.equal(sup.child("a"), undefined, "a stays stopped through its sibling's restart");

    await sup.restartChild("a");
    assert.equal(stateOf(sup, "a"), "running");
    const again = sup.child("a");
    await sup.restartChild("a"); // idempotent: a running child is left as it is
    assert.equal(sup.child("a"), again);
    assert.throws(() => sup.terminateChild("nope"), RangeError);
  } finally {
    await sup.stop();
  }
});

Deno.test("a child named in `stopped` is not started until restartChild", async () => {
  const sup = await Supervisor.start({
    id: "root",
    backoff: FAST,
    stopped: ["a"],
    children: [actorChild({ id: "a", module: ECHO, shutdown: 1000 })],
  });
  try {
    assert.equal(sup.child("a"), undefined);
    assert.equal(stateOf(sup, "a"), "stopped");
    await sup.restartChild("a");
    assert.equal(stateOf(sup, "a"), "running");
  } finally {
    await sup.stop();
  }
});
