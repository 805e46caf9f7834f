import assert from "node:assert/strict";
import { SourcePublisher } from "./_source_publisher.ts";
import type { AgentRecord } from "../runtime/agent_record.ts";
import { ActorHandle } from "../../supervisor/actor_handle.ts";
import { waitFor } from "../../tests/wait_for.ts";

const rec = (i: number): AgentRecord => ({ key: `k${i % 3}`, value: { i } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check()` holds, polling every 5 ms, or fails after `timeoutMs`. */
const until = (check: () => boolean, what: string, timeoutMs = 10_000) =>
  waitFor(check, what, { timeoutMs, intervalMs: 5 });

Deno.test("full batches go out at once, per topic; the rest on flush", async () => {
  const calls: [string, number][] = [];
  const p = new SourcePublisher({
    publish: (topic, records) => (calls.push([topic, records.length]), Promise.resolve()),
    batchSize: 500,
    lingerMs: 60_000,
  });
  for (let i = 0; i < 1050; i++) await p.add("a", rec(i));
  for (let i = 0; i < 7; i++) await p.add("b", rec(i));
  assert.deepEqual(calls, [["a", 500], ["a", 500]]);
  await p.flush();
  assert.deepEqual(calls, [["a", 500], ["a", 500], ["a", 50], ["b", 7]]);
  assert.equal(p.published, 1057);
  assert.equal(p.buffered, 0);
});

Deno.test("a partial batch goes out after lingerMs without a flush", async () => {
  const got: AgentRecord[][] = [];
  let publishedAt = 0;
  const p = new SourcePublisher({
    publish: (_t, r) => (got.push(r), publishedAt = performance.now(), Promise.resolve()),
    lingerMs: 20,
  });
  const first = performance.now();
  await p.add("a", rec(1));
  await p.add("a", rec(2));
  assert.equal(got.length, 0);
  await until(() => got.length > 0, "the lingered batch");
  assert.deepEqual(got.map((b) => b.length), [2], "both records in one batch");
  assert.ok(
    publishedAt - first >= 19,
    `sent after lingerMs, not before (${(publishedAt - first).toFixed(1)} ms)`,
  );
  assert.equal(p.buffered, 0);
});

Deno.test("a slow log makes the source wait: in-flight publishes and buffered records stay bounded", async () => {
  let concurrent = 0;
  let maxConcurrent = 0;
  const p = new SourcePublisher({
    publish: async (_t, records) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await sleep(5);
      concurrent--;
      return records;
    },
    batchSize: 50,
    maxInFlight: 2,
    lingerMs: 1000,
  });
  let maxBuffered = 0;
  const started = performance.now();
  for (let i = 0; i < 2000; i++) {
    await p.add("t", rec(i));
    maxBuffered = Math.max(maxBuffered, p.buffered);
  }
  const elapsed = performance.now() - started;
  await p.flush();
  assert.equal(maxConcurrent, 2);
  assert.equal(p.maxInFlightSeen, 2);
  assert.ok(maxBuffered <= 50, `buffered at most one batch, saw ${maxBuffered}`);
  // 40 batches, 2 at a time, >= 5 ms each: the producer waited for the log.
  assert.ok(elapsed >= 19 * 5, `producer waited ${elapsed.toFixed(0)} ms`);
  assert.equal(p.published, 2000);
});

Deno.test("offer never waits and drops beyond maxBuffered", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const p = new SourcePublisher({ publish: () => gate, batchSize: 10, maxInFlight: 1, maxBuffered: 25 });
  let accepted = 0;
  for (let i = 0; i < 100; i++) if (p.offer("t", rec(i))) accepted++;
  // 10 in flight (one publish), 25 waiting, the rest dropped.
  assert.equal(accepted, 35);
  assert.equal(p.dropped, 65);
  assert.equal(p.buffered, 25);
  release();
  await p.flush();
  assert.equal(p.published, 35);
});

Deno.test("a failed publish is reported once and thrown by the next add and by flush", async () => {
  const errors: unknown[] = [];
  const boom = new Error("log unavailable");
  const p = new SourcePublisher({
    publish: () => Promise.reject(boom),
    batchSize: 2,
    onError: (e) => errors.push(e),
  });
  await p.add("t", rec(1));
  await p.add("t", rec(2)); // a full batch: published, fails asynchronously
  await until(() => errors.length > 0, "the failure to be reported");
  await assert.rejects(p.add("t", rec(3)), (e) => e === boom);
  await assert.rejects(p.flush(), (e) => e === boom);
  assert.deepEqual(errors, [boom]);
});

Deno.test("constructor refuses bad sizes", () => {
  assert.throws(() => new SourcePublisher({ publish: () => Promise.resolve(), batchSize: 0 }), RangeError);
  assert.throws(
    () => new SourcePublisher({ publish: () => Promise.resolve(), maxInFlight: 1.5 }),
    RangeError,
  );
});

Deno.test("in a Worker, an unpaced synthetic source is held back by a slow log", async () => {
  let concurrent = 0;
  let maxConcurrent = 0;
  let published = 0;
  let largest = 0;
  const a = await ActorHandle.start({
    path: "t/synthetic-slow",
    module: new URL("./synthetic.ts", import.meta.url),
    config: { ratePerSecond: 0, batchSize: 100, maxInFlight: 2 },
    publish: async (_topic, records) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await sleep(50);
      concurrent--;
      published += records.length;
      largest = Math.max(largest, records.length);
      return [];
    },
  });
  // Unpaced it makes ~400 000 ticks/s; held back it publishes at most 2 batches of 100 per 50 ms.
  await until(() => published >= 1000, "1000 ticks published", 30_000);
  const beforeStop = published + concurrent * 100;
  await a.stop(3000);
  assert.deepEqual(await a.exited, { kind: "shutdown" });
  // What it still held when stopped (flushed on stop) is bounded: it did not run ahead of the log.
  assert.ok(published - beforeStop <= 300, `flushed ${published - beforeStop} ticks on stop, at most 300`);
  assert.equal(maxConcurrent, 2, "never more than maxInFlight publishes at once");
  assert.ok(largest <= 100, `batches of at most batchSize records, saw ${largest}`);
});

Deno.test("checkpoints follow acknowledgements: out-of-order acks never checkpoint past an unacked record", async () => {
  const pending: { topic: string; n: number; ack: () => void; fail: (e: Error) => void }[] = [];
  const checkpoints: unknown[] = [];
  const p = new SourcePublisher({
    publish: (topic, records) =>
      new Promise<void>((ack, fail) => pending.push({ topic, n: records.length, ack: () => ack(), fail })),
    batchSize: 2,
    lingerMs: 60_000,
    maxInFlight: 8,
    onCheckpoint: (position) => checkpoints.push(position),
  });
  await p.add("a", rec(1), 1);
  await p.add("b", rec(2), 2); // b's batch stays partial: nothing before line 2 may be checkpointed past it
  await p.add("a", rec(3), 3); // a's batch [1, 3] goes out
  p.mark(4); // a line with no record
  assert.deepEqual(pending.map((x) => [x.topic, x.n]), [["a", 2]]);
  pending[0]!.ack();
  await until(() => checkpoints.length > 0, "the first checkpoint");
  assert.deepEqual(checkpoints, [1], "line 2 (topic b) is not acknowledged yet, so only line 1 is covered");
  const flushed = p.flush();
  await until(() => pending.length === 2, "b's batch");
  pending[1]!.ack();
  await flushed;
  assert.deepEqual(checkpoints, [1, 4]);
});

Deno.test("a failed publish stops checkpointing: no position after the failed batch is saved", async () => {
  const checkpoints: unknown[] = [];
  let fail = false;
  const p = new SourcePublisher({
    publish: () => fail ? Promise.reject(new Error("broker away")) : Promise.resolve(),
    batchSize: 1,
    maxBuffered: 1,
    maxInFlight: 1,
    onCheckpoint: (position) => checkpoints.push(position),
  });
  await p.add("a", rec(1), "one");
  await until(() => checkpoints.length === 1, "the first checkpoint");
  fail = true;
  await p.add("a", rec(2), "two");
  await assert.rejects(() => p.flush(), /broker away/);
  p.mark("three");
  assert.deepEqual(checkpoints, ["one"]);
});
