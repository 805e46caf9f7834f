// Hung actors (issue 10 item 5): a handler that never settles and a Worker that ends itself are detected by the
// batch deadline and the heartbeat, restarted by their supervisor, and a record that hangs its handler is
// isolated and dead-lettered like any poison record.
import assert from "node:assert/strict";
import { DLQ_HEADERS } from "../connector/dead_letter.ts";
import { metricsText } from "../core/metrics.ts";
import {
  allCommitted,
  bytes,
  createTopics,
  publishSeq,
  readAll,
  text,
  until,
} from "./_dispatcher_test_helpers.ts";
import { embeddedLog, misbehavingPipeline, restartsOf } from "./_misbehaving_pipeline.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...opts,
  name:
    "hung actor: a handler that hangs on one record is restarted past its deadline; that record is dead-lettered, the rest processed",
  async fn() {
    await using env = await embeddedLog();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    const values = await publishSeq(connector, "in", 30, {
      keys: 5,
      value: (i, k) => i === 11 ? "hang" : `${k}:${i}`,
    });
    const p = await misbehavingPipeline({
      connector,
      agent: "hanger",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxBatchRecords: 8,
      maxAttempts: 2,
      retryBackoff: { minMs: 1, maxMs: 5 },
      actor: { batchDeadlineMs: 1000 },
    });
    try {
      await allCommitted(connector, "in", "hanger", 60_000);
      const dead = await readAll(connector, "dlq");
      assert.deepEqual(dead.map((r) => text(r.value)), ["hang"]);
      assert.equal(dead[0]!.headers[DLQ_HEADERS.sourceOffset], "11");
      assert.equal(dead[0]!.headers[DLQ_HEADERS.errorClass], "ActorCrashError");
      assert.match(
        dead[0]!.headers[DLQ_HEADERS.errorMessage] ?? "",
        /batch_timeout.*made no progress and did not settle within 1000 ms/,
      );
      const out = new Set((await readAll(connector, "out")).map((r) => text(r.value)));
      assert.deepEqual(out, new Set(values.filter((v) => v !== "hang")), "every other record was processed");
      assert.ok(restartsOf(p.root) >= 2, `the hung actor was restarted (${restartsOf(p.root)} restarts)`);
      assert.match(
        await metricsText(),
        /actor_failures_total\{actor="hanger\/hanger-0",reason="batch_timeout"\} \d+/,
      );
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "hung actor: a Worker that ends itself (self.close()) is detected, idle by the heartbeat and mid-batch by the deadline, and restarted",
  async fn() {
    await using env = await embeddedLog();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    const p = await misbehavingPipeline({
      connector,
      agent: "closer",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxAttempts: 2,
      retryBackoff: { minMs: 1, maxMs: 5 },
      actor: { batchDeadlineMs: 1000, heartbeat: { intervalMs: 100, timeoutMs: 1500 } },
    });
    try {
      // Idle: the batch is acked, then the Worker closes itself; only the heartbeat can tell.
      await connector.publish("in", [{ key: "a", value: bytes("a:0") }, {
        key: "a",
        value: bytes("close-after"),
      }]);
      await until(() => restartsOf(p.root) >= 1, 20_000, "a restart after the idle Worker closed itself");
      await until(() => p.dispatcher.handle("closer-0")?.state === "running", 20_000, "the next incarnation");
      assert.match(
        await metricsText(),
        /actor_failures_total\{actor="closer\/closer-0",reason="heartbeat_timeout"\} 1/,
      );
      // Mid-batch: the Worker closes itself holding a batch; its deadline tells, and the record is isolated.
      await connector.publish("in", [
        { key: "a", value: bytes("a:1") },
        { key: "a", value: bytes("close") },
        { key: "a", value: bytes("a:2") },
      ]);
      await allCommitted(connector, "in", "closer", 60_000);
      const dead = await readAll(connector, "dlq");
      assert.deepEqual(dead.map((r) => text(r.value)), ["close"]);
      const out = new Set((await readAll(connector, "out")).map((r) => text(r.value)));
      assert.deepEqual(out, new Set(["a:0", "close-after", "a:1", "a:2"]));
      assert.match(
        await metricsText(),
        /actor_failures_total\{actor="closer\/closer-0",reason="batch_timeout"\} \d+/,
      );
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "hung actor: a handler that runs past its deadline while making progress (publishes settling) is not hung",
  async fn() {
    await using env = await embeddedLog();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    await connector.publish("in", ["x:0", "busy:3000", "x:2"].map((v) => ({ key: "x", value: bytes(v) })));
    const p = await misbehavingPipeline({
      connector,
      agent: "busy",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxBatchRecords: 1,
      maxAttempts: 1,
      actor: { batchDeadlineMs: 1000 },
    });
    try {
      await allCommitted(connector, "in", "busy", 30_000);
      assert.equal(restartsOf(p.root), 0, "never restarted");
      assert.equal(p.dispatcher.stats.deadLetters, 0);
      const out = (await readAll(connector, "out")).map((r) => text(r.value));
      assert.deepEqual(out, ["x:0", "busy:3000", "x:2"]);
    } finally {
      await p.stop();
    }
  },
});
