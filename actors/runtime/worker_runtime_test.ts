import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { ActorExitedError, ActorHandle, BatchFailedError } from "../../supervisor/mod.ts";
import { registry } from "../../core/metrics.ts";
import { makeBatch } from "../../tests/agents/batch.ts";
import { serveToolPort } from "./mod.ts";
import type { AgentRecord } from "./agent_record.ts";

const ECHO = new URL("../../tests/agents/echo.ts", import.meta.url);
const CRASHING = new URL("../../tests/agents/crashing.ts", import.meta.url);
const SLOW = new URL("../../tests/agents/slow.ts", import.meta.url);

Deno.test("a batch is acked when receive resolves and failed when it throws; the actor keeps running", async () => {
  const a = await ActorHandle.start({ path: "t/crashing", module: CRASHING });
  await a.send(makeBatch("ok", ["fine"]));
  const err = await a.send(makeBatch("bad", ["fine", "throw"])).catch((e) => e);
  assert.ok(err instanceof BatchFailedError);
  assert.equal(err.batchId, "bad");
  assert.equal(err.remoteName, "RangeError");
  assert.match(err.message, /bad record 1/);
  await a.send(makeBatch("after", ["fine"]));
  const node = a.snapshot();
  assert.deepEqual([node.state, node.processed, node.failed, node.lastError?.reason], [
    "running",
    2,
    1,
    "batch_failed",
  ]);
  await a.stop(1000);
});

for (const [value, reason] of [["uncaught", "uncaught_error"], ["reject", "unhandled_rejection"]] as const) {
  Deno.test(`an ${reason.replace("_", " ")} in the Worker is a crash reported to the main thread`, async () => {
    const a = await ActorHandle.start({ path: "t/crashing", module: CRASHING });
    const err = await a.send(makeBatch("b1", ["fine", value])).catch((e) => e);
    assert.ok(err instanceof ActorExitedError, "the unacked batch is handed back for redelivery");
    assert.equal(err.batch.id, "b1");
    const exit = await a.exited;
    assert.equal(exit.kind, "crashed");
    assert.equal(exit.kind === "crashed" && exit.reason, reason);
    assert.equal(a.snapshot().lastError?.reason, reason);
    await assert.rejects(a.send(makeBatch("b2")), ActorExitedError);
  });
}

Deno.test("a system message overtakes queued user batches (async handler)", async () => {
  const a = await ActorHandle.start({
    path: "t/slow",
    module: SLOW,
    config: { delayMs: 150 },
    creditWindow: 4,
  });
  const sends = ["1", "2", "3", "4"].map((id) => a.send(makeBatch(id)));
  const first = await a.ping(); // posted after the 4 batches, answered before batch 2 (usually before batch 1)
  assert.ok(first.batchesStarted <= 1, `started ${first.batchesStarted}`);
  assert.equal(first.batchesStarted + first.queued, 4);
  await new Promise((r) => setTimeout(r, 40)); // batch 1 (150 ms) is surely running now
  assert.deepEqual(await a.ping(), { batchesStarted: 1, queued: 3 });
  await Promise.all(sends);
  await a.stop(1000);
});

Deno.test("a system message waiting behind a CPU-bound batch runs before the next batch starts", async () => {
  const a = await ActorHandle.start({ path: "t/busy", module: SLOW, config: { delayMs: 100, busy: true } });
  const sends = ["1", "2", "3", "4"].map((id) => a.send(makeBatch(id)));
  await new Promise((r) => setTimeout(r, 20)); // the Worker is now spinning in batch 1
  const pong = await a.ping();
  assert.equal(pong.batchesStarted, 1, "batch 2 did not start while the ping was waiting");
  await Promise.all(sends);
  await a.stop(1000);
});

Deno.test("a config message is validated and applied before the next batch", async () => {
  const a = await ActorHandle.start({ path: "t/slow", module: SLOW, config: { delayMs: 400 } });
  await assert.rejects(a.configure({ delayMs: -1 }), /config_rejected/);
  await a.configure({ delayMs: 0 });
  const t0 = performance.now();
  await a.send(makeBatch("quick"));
  assert.ok(performance.now() - t0 < 300, "the new delay is in effect");
  await a.stop(1000);
});

Deno.test("ctx.publish is an RPC answered by the main thread; a publish failure fails the batch", async () => {
  const published: [string, AgentRecord[]][] = [];
  let fail = false;
  const a = await ActorHandle.start({
    path: "t/echo",
    module: ECHO,
    config: { topic: "out" },
    publish: (topic, records) => {
      if (fail) return Promise.reject(new Error("broker down"));
      published.push([topic, records]);
      return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: String(i) })));
    },
  });
  await a.send(makeBatch("b1", ["a", "b"]));
  assert.equal(published.length, 1);
  assert.equal(published[0]?.[0], "out");
  assert.deepEqual(published[0]?.[1].map((r) => new TextDecoder().decode(r.value as Uint8Array)), ["a", "b"]);
  fail = true;
  const err = await a.send(makeBatch("b2")).catch((e) => e);
  assert.ok(err instanceof BatchFailedError);
  assert.equal(err.remoteName, "AgentPublishError");
  assert.match(err.message, /publishing to "out": broker down/);
  await a.stop(1000);
});

Deno.test("ctx.tools calls go over the MessagePort with the correlation id; tools outside the spec are refused", async () => {
  const calls: unknown[] = [];
  const tools = new MessageChannel();
  const close = serveToolPort(tools.port1, (name, args, correlationId) => {
    calls.push({ name, args, correlationId });
    return { rows: 1 };
  });
  const publish = (topic: string) => Promise.resolve([{ topic, partition: 0, offset: "0" }]);
  const a = await ActorHandle.start({
    path: "t/echo",
    module: ECHO,
    config: { tool: "lookup" },
    toolPort: tools.port2,
    publish,
  });
  await a.send(makeBatch("b1"));
  assert.deepEqual(calls, [{ name: "lookup", args: { batch: "b1" }, correlationId: "corr-b1" }]);
  await a.configure({ tool: "drop_table" });
  const err = await a.send(makeBatch("b2")).catch((e) => e);
  assert.equal(err.remoteName, "ToolCallError");
  assert.match(err.message, /"drop_table" is not in this agent's spec.tools/);
  assert.equal(calls.length, 1);
  await a.stop(1000);
  close();
});

Deno.test("agent metrics and logs reach the main thread's registry and LogTape with actor and correlation id", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["qistream", "agent"], sinks: ["mem"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "error" },
    ],
  });
  try {
    const publish = (topic: string) => Promise.resolve([{ topic, partition: 0, offset: "0" }]);
    const a = await ActorHandle.start({ path: "t/echo-m", module: ECHO, publish });
    await a.send(makeBatch("m1", ["a", "b", "c"]));
    const text = await registry.metrics();
    assert.match(text, /echo_records_total\{agent="echo",actor="t\/echo-m"\} 3/);
    assert.match(text, /actor_batch_duration_seconds_count\{actor="t\/echo-m",agent="echo"\} 1/);
    const log = records.find((r) => r.properties.actorId === "t/echo-m");
    assert.ok(log, "the agent's log record was forwarded");
    assert.deepEqual(log.category, ["qistream", "agent", "echo"]);
    assert.equal(log.properties.correlationId, "corr-m1");
    assert.equal(log.message.join(""), "echoing 3 records");
    await a.stop(1000);
  } finally {
    await reset();
  }
});

Deno.test("a source's run() ends in a normal exit when it returns and a crash when it rejects", async () => {
  const TICKER = new URL("../../tests/agents/ticker.ts", import.meta.url);
  const ticks: string[] = [];
  const publish = (topic: string, records: AgentRecord[]) => {
    ticks.push(new TextDecoder().decode(records[0]!.value as Uint8Array));
    return Promise.resolve([{ topic, partition: 0, offset: String(ticks.length - 1) }]);
  };
  const done = await ActorHandle.start({ path: "t/ticker", module: TICKER, config: { count: 3 }, publish });
  assert.deepEqual(await done.exited, { kind: "normal" });
  assert.deepEqual(ticks, ["0", "1", "2"]);
  const failing = await ActorHandle.start({
    path: "t/ticker2",
    module: TICKER,
    config: { failAt: 1 },
    publish,
  });
  const exit = await failing.exited;
  assert.equal(exit.kind === "crashed" && exit.reason, "run_failed");
  assert.match(exit.kind === "crashed" ? exit.error.message : "", /tick 1 failed/);
  const endless = await ActorHandle.start({
    path: "t/ticker3",
    module: TICKER,
    config: { count: 1e9 },
    publish,
  });
  await endless.stop(1000);
  assert.deepEqual(await endless.exited, { kind: "shutdown" }, "stop aborts ctx.signal and run() returns");
});
