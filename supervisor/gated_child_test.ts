import assert from "node:assert/strict";
import type { Child, ChildSpec, ExitReason } from "./child_spec.ts";
import { type Gate, gatedChild } from "./gated_child.ts";
import { Supervisor } from "./supervisor.ts";
import type { TreeNode } from "./tree_node.ts";

/** A gate the test opens and closes; `set` resolves once every listener (the handover) finished. */
function testGate(open: boolean) {
  const listeners = new Set<() => Promise<void> | void>();
  const gate: Gate & { set(open: boolean): Promise<void> } = {
    isOpen: () => open,
    closedReason: () => "standby: another node runs it",
    onChange: (l) => (listeners.add(l), () => listeners.delete(l)),
    set: async (next) => {
      open = next;
      await Promise.all([...listeners].map((l) => l()));
    },
  };
  return gate;
}

/** A child that records its starts and stops and can exit by itself. */
function countingChild(id: string) {
  const log: string[] = [];
  let exit: ((r: ExitReason) => void) | undefined;
  const spec: ChildSpec = {
    id,
    start: () => {
      log.push("start");
      let resolve!: (r: ExitReason) => void;
      const exited = new Promise<ExitReason>((r) => (resolve = r));
      exit = resolve;
      const child: Child = {
        exited,
        stop: () => {
          log.push("stop");
          resolve({ kind: "shutdown" });
          return Promise.resolve();
        },
        snapshot: (): TreeNode => ({ type: "pending", id, path: id, state: "stopped", restarts: 0 }),
      };
      return Promise.resolve(child);
    },
  };
  return { spec, log, crash: () => exit?.({ kind: "crashed", reason: "boom", error: new Error("boom") }) };
}

Deno.test("a gated child runs only while its gate is open, shows standby otherwise, and hands over in order", async () => {
  const gate = testGate(false);
  const inner = countingChild("replay");
  const root = await Supervisor.start({ id: "root", children: [gatedChild(inner.spec, gate)] });
  try {
    const standby = root.snapshot();
    assert.equal(standby.type, "supervisor");
    const node = standby.type === "supervisor" ? standby.children[0] : undefined;
    assert.equal(node?.type, "standby");
    assert.equal(node?.type === "standby" ? node.reason : "", "standby: another node runs it");
    assert.deepEqual(inner.log, [], "not started while the gate is closed");

    await gate.set(true);
    assert.deepEqual(inner.log, ["start"], "started once the gate opened (before set() resolved)");
    await gate.set(false);
    assert.deepEqual(inner.log, ["start", "stop"], "stopped before the gate let another holder in");
    await gate.set(true);
    assert.deepEqual(inner.log, ["start", "stop", "start"]);
  } finally {
    await root.stop();
  }
  assert.deepEqual(inner.log, ["start", "stop", "start", "stop"]);
});

Deno.test("while open, the inner child's crash is the gated child's crash: its supervisor restarts it", async () => {
  const gate = testGate(true);
  const inner = countingChild("feed");
  const root = await Supervisor.start({
    id: "root",
    intensity: 5,
    backoff: { minMs: 1, maxMs: 1 },
    children: [gatedChild(inner.spec, gate)],
  });
  try {
    assert.deepEqual(inner.log, ["start"]);
    inner.crash();
    const deadline = Date.now() + 5000;
    while (inner.log.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(inner.log, ["start", "start"], "restarted by the supervisor");
  } finally {
    await root.stop();
  }
});
