import assert from "node:assert/strict";
import { ActorHandle } from "../../supervisor/actor_handle.ts";
import { metric, recorder, waitFor } from "./_test_helpers.ts";
import type { Tick } from "../sources/market_record.ts";

const MODULE = new URL("./synthetic.ts", import.meta.url);

Deno.test("synthetic publishes maxTicks ticks keyed by symbol with headers, then exits normally", async () => {
  const rec = recorder();
  const a = await ActorHandle.start({
    path: "t/synthetic",
    module: MODULE,
    config: { ratePerSecond: 0, maxTicks: 1000, seed: 7, symbols: ["BTC-USD", "AAPL"], batchSize: 100 },
    publish: rec.publish,
  });
  assert.deepEqual(a.permissions.net, false);
  assert.deepEqual(await a.exited, { kind: "normal" });
  const ticks = rec.records("market.ticks");
  assert.equal(ticks.length, 1000);
  assert.ok(rec.calls.every((g) => g.records.length <= 100), "batches hold at most batchSize records");
  const first = ticks[0]!;
  const tick = first.value as Tick;
  assert.equal(first.key, tick.symbol);
  assert.equal(tick.source, "synthetic");
  for (const field of ["symbol", "source", "exchange", "ts", "price", "bid", "ask", "volume"]) {
    assert.ok(field in tick, `field ${field}`);
  }
  assert.ok(tick.bid! < tick.price && tick.price < tick.ask!);
  assert.deepEqual(new Set(ticks.map((t) => t.key)), new Set(["BTC-USD", "AAPL"]));
  assert.equal(first.headers?.source, "synthetic");
  assert.match(first.headers?.["correlation-id"] ?? "", /^[0-9a-f-]{36}$/);
  assert.equal(new Set(ticks.map((t) => t.headers?.["correlation-id"])).size, 1000, "one id per tick");
});

Deno.test("synthetic stops on stop and publishes what it had pending first", async () => {
  const rec = recorder();
  const a = await ActorHandle.start({
    path: "t/synthetic-pending",
    module: MODULE,
    config: { ratePerSecond: 2000, batchSize: 100_000, lingerMs: 60_000 },
    publish: rec.publish,
  });
  // The source reports every 1000 ticks it made: once it has, they are waiting in its batch.
  await waitFor(
    async () => ((await metric("source_records_total", { actor: "t/synthetic-pending" })) ?? 0) >= 1000,
    30_000,
  );
  assert.equal(rec.calls.length, 0, "nothing published yet: the batch is neither full nor lingered out");
  await a.stop(2000);
  assert.deepEqual(await a.exited, { kind: "shutdown" });
  const n = rec.records("market.ticks").length;
  assert.ok(n >= 1000 && n < 100_000, `flushed on stop: ${n} ticks`);
});

Deno.test("a publish the log refuses makes run() reject: the actor crashes with the publish error", async () => {
  const a = await ActorHandle.start({
    path: "t/synthetic-refused",
    module: MODULE,
    config: { ratePerSecond: 0, batchSize: 10 },
    publish: () => Promise.reject(new Error("broker unreachable")),
  });
  const exit = await a.exited;
  assert.ok(exit.kind === "crashed");
  assert.equal(exit.reason, "run_failed");
  assert.match(exit.error.message, /publishing to "market.ticks": broker unreachable/);
});
