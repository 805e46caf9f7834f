import assert from "node:assert/strict";
import {
  actorChild,
  type ActorHandle,
  type ExitReason,
  oneForAll,
  oneForOne,
  type RestartStrategy,
  restForOne,
  Supervisor,
  supervisorChild,
  type SupervisorEvent,
  SupervisorGaveUpError,
  type SupervisorNode,
} from "./mod.ts";
import { makeBatch } from "../tests/agents/batch.ts";

const ECHO = new URL("../tests/agents/echo.ts", import.meta.url);
const CRASHING = new URL("../tests/agents/crashing.ts", import.meta.url);
const SLOW = new URL("../tests/agents/slow.ts", import.meta.url);
const FAST = { minMs: 0, maxMs: 0, jitter: 0, resetAfterMs: 60_000 };

function three(strategy: RestartStrategy, intensity = 5) {
  return Supervisor.start({
    id: "root",
    strategy,
    intensity,
    periodMs: 5000,
    backoff: FAST,
    children: ["a", "b", "c"].map((id) => actorChild({ id, module: CRASHING, shutdown: 1000 })),
  });
}

/** Crashes child `id` with an uncaught error and waits until the supervisor reports `n` child_started events. */
async function crashAndWait(sup: Supervisor, id: string, started: number): Promise<SupervisorEvent[]> {
  const events: SupervisorEvent[] = [];
  const done = new Promise<void>((resolve) => {
    let seen = 0;
    const off = sup.onEvent((e) => {
      events.push(e);
      if (e.type === "child_started" && ++seen === started) {
        off();
        resolve();
      }
    });
  });
  const child = sup.child(id) as ActorHandle;
  await child.send(makeBatch("boom", ["uncaught"])).catch(() => {});
  await done;
  return events;
}

function startedPaths(events: SupervisorEvent[]): string[] {
  return events.filter((e) => e.type === "child_started").map((e) => e.path);
}

Deno.test("one_for_one restarts only the failed child", async () => {
  const sup = await three(oneForOne);
  const [a, b, c] = ["a", "b", "c"].map((id) => sup.child(id));
  const events = await crashAndWait(sup, "b", 1);
  assert.deepEqual(startedPaths(events), ["root/b"]);
  assert.equal(sup.child("a"), a);
  assert.notEqual(sup.child("b"), b);
  assert.equal(sup.child("c"), c);
  const tree = sup.snapshot();
  assert.deepEqual(tree.children.map((n) => [n.id, n.restarts, n.state]), [
    ["a", 0, "running"],
    ["b", 1, "running"],
    ["c", 0, "running"],
  ]);
  assert.equal(tree.children[1]?.lastError?.reason, "uncaught_error");
  await sup.stop();
});

Deno.test("one_for_all stops the others in reverse order and restarts all in order", async () => {
  const sup = await three(oneForAll);
  const before = ["a", "b", "c"].map((id) => sup.child(id));
  const events = await crashAndWait(sup, "b", 3);
  const exits = events.filter((e) => e.type === "child_exited").map((e) => e.path);
  assert.deepEqual(exits, ["root/b", "root/c", "root/a"], "failed child, then the others in reverse order");
  assert.deepEqual(startedPaths(events), ["root/a", "root/b", "root/c"]);
  ["a", "b", "c"].forEach((id, i) => assert.notEqual(sup.child(id), before[i]));
  await sup.stop();
});

Deno.test("rest_for_one restarts the failed child and those started after it", async () => {
  const sup = await three(restForOne);
  const a = sup.child("a");
  const events = await crashAndWait(sup, "b", 2);
  assert.deepEqual(startedPaths(events), ["root/b", "root/c"]);
  assert.equal(sup.child("a"), a, "the older sibling keeps running");
  await sup.stop();
});

Deno.test("restart types: transient restarts only after abnormal exits, temporary never and is removed", async () => {
  const sup = await Supervisor.start({
    id: "root",
    backoff: FAST,
    intensity: 5,
    children: [
      actorChild({ id: "tmp", module: CRASHING, restart: "temporary" }),
      actorChild({ id: "tr", module: CRASHING, restart: "transient" }),
    ],
  });
  const tmp = sup.child("tmp") as ActorHandle;
  await tmp.send(makeBatch("x", ["uncaught"])).catch(() => {});
  await tmp.exited;
  const events = await crashAndWait(sup, "tr", 1);
  assert.deepEqual(startedPaths(events), ["root/tr"]);
  assert.deepEqual(sup.childIds(), ["tr"], "the temporary child is gone from the tree");
  await sup.stop();
});

Deno.test("exceeding the restart intensity escalates to the parent, which restarts the child supervisor", async () => {
  const events: SupervisorEvent[] = [];
  const root = await Supervisor.start({
    id: "root",
    intensity: 3,
    backoff: FAST,
    children: [
      supervisorChild({
        id: "agents",
        intensity: 1,
        periodMs: 5000,
        backoff: FAST,
        children: [actorChild({ id: "w", module: CRASHING })],
      }),
    ],
  });
  root.onEvent((e) => events.push(e));
  const inner1 = root.child("agents") as Supervisor;
  // First crash: within intensity 1 → the inner supervisor restarts w.
  await crashAndWait(inner1, "w", 1);
  assert.equal(root.child("agents"), inner1);
  // Second crash within 5 s: inner gives up, stops, exits; the root restarts it.
  const restarted = new Promise<void>((r) =>
    root.onEvent((e) => e.type === "child_started" && e.path === "root/agents" && r())
  );
  await (inner1.child("w") as ActorHandle).send(makeBatch("y", ["uncaught"])).catch(() => {});
  const reason = await inner1.exited;
  assert.equal(reason.kind, "crashed");
  assert.ok(reason.kind === "crashed" && reason.error instanceof SupervisorGaveUpError);
  await restarted;
  const inner2 = root.child("agents") as Supervisor;
  assert.notEqual(inner2, inner1);
  assert.equal(inner2.state, "running");
  assert.ok(events.some((e) => e.type === "intensity_exceeded" && e.path === "root/agents"));
  const tree = root.snapshot();
  assert.equal(tree.children[0]?.restarts, 1);
  assert.equal(tree.children[0]?.type, "supervisor");
  assert.equal((tree.children[0] as SupervisorNode).children[0]?.state, "running");
  await root.stop();
});

Deno.test("the root calls onGiveUp once when its intensity is exceeded", async () => {
  const gaveUp: ExitReason[] = [];
  const root = await Supervisor.start({
    id: "root",
    intensity: 0,
    backoff: FAST,
    children: [actorChild({ id: "w", module: CRASHING }), actorChild({ id: "e", module: ECHO })],
    onGiveUp: (r) => gaveUp.push(r),
  });
  const echo = root.child("e") as ActorHandle;
  await (root.child("w") as ActorHandle).send(makeBatch("z", ["reject"])).catch(() => {});
  const reason = await root.exited;
  assert.equal(gaveUp.length, 1);
  assert.equal(reason.kind === "crashed" && reason.reason, "reached_max_restart_intensity");
  assert.equal(echo.state, "stopped", "siblings are stopped when the supervisor gives up");
  assert.equal(root.snapshot().state, "failed");
});

Deno.test("children start in order and stop in reverse order; one that ignores stop is killed after its timeout", async () => {
  const events: SupervisorEvent[] = [];
  const root = await Supervisor.start({
    id: "root",
    children: [
      actorChild({ id: "first", module: ECHO, shutdown: 2000 }),
      actorChild({
        id: "stubborn",
        module: SLOW,
        config: { delayMs: 30_000, ignoreStop: true },
        shutdown: 300,
      }),
      actorChild({ id: "busy", module: SLOW, config: { delayMs: 30_000, busy: true }, shutdown: 300 }),
      actorChild({ id: "last", module: ECHO, shutdown: 2000 }),
    ],
  });
  root.onEvent((e) => events.push(e));
  assert.deepEqual(root.childIds(), ["first", "stubborn", "busy", "last"]);
  const stubborn = root.child("stubborn") as ActorHandle;
  const busy = root.child("busy") as ActorHandle;
  const pending = [stubborn.send(makeBatch("s1")), busy.send(makeBatch("b1"))].map((p) => p.catch((e) => e));
  await new Promise((r) => setTimeout(r, 100)); // let both handlers start
  const t0 = performance.now();
  await root.stop();
  const elapsed = performance.now() - t0;
  const exits = events.filter((e) => e.type === "child_exited");
  assert.deepEqual(exits.map((e) => e.path), ["root/last", "root/busy", "root/stubborn", "root/first"]);
  assert.deepEqual(exits.map((e) => e.type === "child_exited" && e.reason.kind), [
    "shutdown",
    "killed",
    "killed",
    "shutdown",
  ]);
  assert.ok(elapsed < 2000, `stopped within the timeouts (took ${elapsed.toFixed(0)} ms)`);
  for (const e of await Promise.all(pending)) assert.equal((e as Error).name, "ActorExitedError");
  assert.equal((await root.exited).kind, "shutdown");
});

Deno.test("a child that fails to start fails the supervisor start and stops the started ones", async () => {
  let first: ActorHandle | undefined;
  await assert.rejects(
    Supervisor.start({
      id: "root",
      children: [
        actorChild({ id: "ok", module: ECHO, onStarted: (h) => (first = h) }),
        actorChild({ id: "bad", module: CRASHING, config: { failOnStart: true } }),
      ],
    }),
    (e: Error) => e.name === "ActorCrashError" && /start_failed/.test(e.message),
  );
  assert.equal(first?.state, "stopped");
});

Deno.test("the tree JSON shows actors with mailbox, in-flight and permissions", async () => {
  const root = await Supervisor.start({
    id: "root",
    children: [
      supervisorChild({
        id: "agents",
        strategy: restForOne,
        children: [actorChild({ id: "slow-0", module: SLOW, config: { delayMs: 300 }, creditWindow: 2 })],
      }),
    ],
  });
  const slow = (root.child("agents") as Supervisor).child("slow-0") as ActorHandle;
  const sends = ["1", "2", "3"].map((id) => slow.send(makeBatch(id)));
  const tree = JSON.parse(JSON.stringify(root.snapshot()));
  assert.equal(tree.type, "supervisor");
  assert.deepEqual(tree.intensity, { max: 1, periodMs: 5000, recent: 0 });
  const agents = tree.children[0];
  assert.equal(agents.strategy, "rest_for_one");
  const actor = agents.children[0];
  assert.equal(actor.path, "root/agents/slow-0");
  assert.equal(actor.agent, "slow");
  assert.equal(actor.inflight, 2);
  assert.equal(actor.mailboxDepth, 1);
  assert.equal(actor.permissions.net, false);
  await Promise.all(sends);
  await root.stop();
});

Deno.test("restarts wait for the backoff delay, shown as a pending node; stop cancels a pending restart", async () => {
  const root = await Supervisor.start({
    id: "root",
    intensity: 5,
    backoff: { minMs: 400, maxMs: 400, jitter: 0 },
    children: [actorChild({ id: "w", module: CRASHING })],
  });
  const restarting = new Promise<SupervisorEvent>((r) =>
    root.onEvent((e) => e.type === "child_restarting" && r(e))
  );
  await (root.child("w") as ActorHandle).send(makeBatch("x", ["uncaught"])).catch(() => {});
  const ev = await restarting;
  assert.equal(ev.type === "child_restarting" && ev.delayMs, 400);
  // A witness with the same backoff, crashed later: once it has restarted, root's restart would have too.
  const control = await Supervisor.start({
    id: "control",
    intensity: 5,
    backoff: { minMs: 400, maxMs: 400, jitter: 0 },
    children: [actorChild({ id: "w", module: CRASHING })],
  });
  const controlRestarted = new Promise<void>((r) =>
    control.onEvent((e) => e.type === "child_started" && e.restarts > 0 && r())
  );
  await (control.child("w") as ActorHandle).send(makeBatch("x", ["uncaught"])).catch(() => {});
  const node = root.snapshot().children[0];
  assert.deepEqual([node?.type, node?.state, node?.lastError?.reason], [
    "pending",
    "restarting",
    "uncaught_error",
  ]);
  const t0 = performance.now();
  await root.stop();
  assert.ok(performance.now() - t0 < 300, "stop did not wait for the backoff");
  assert.equal(root.child("w"), undefined, "no incarnation was started after stop");
  await controlRestarted;
  assert.equal(root.child("w"), undefined, "none when the backoff would have ended either");
  await control.stop();
});
