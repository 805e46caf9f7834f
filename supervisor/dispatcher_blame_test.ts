// Crashes are blamed on the right batch (issue 10 item 8): a crash while a revoked partition's batch still runs,
// an environment fault (a real allocation failure) and an interruption by a stop never split or dead-letter
// innocent records.
import assert from "node:assert/strict";
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
import type { StreamConnector } from "../connector/types.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function deadLetters(connector: StreamConnector): Promise<string[]> {
  const [o] = await connector.offsets("dlq");
  return o!.high === "0" ? [] : (await readAll(connector, "dlq")).map((r) => text(r.value));
}

Deno.test({
  ...opts,
  name:
    "crash blame: a crash while a revoked partition's batch still runs in the Worker blames no batch that stayed",
  async fn() {
    await using env = await embeddedLog();
    const { connector } = env;
    await createTopics(connector, { in: 2, out: 2, dlq: 1 });
    // Partition 1 (moved to B when B joins) starts with a record that crashes the Worker 3 s after it starts.
    await connector.publish("in", [
      { partition: 1, key: "b", value: bytes("slowcrash:3000") },
      ...["b:1", "b:2"].map((v) => ({ partition: 1, key: "b", value: bytes(v) })),
    ]);
    const innocents = ["a:0", "a:1", "a:2", "a:3", "a:4"].map((v) => ({
      partition: 0,
      key: "a",
      value: bytes(v),
    }));
    const common = {
      connector,
      agent: "blame",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxBatchRecords: 1,
      maxAttempts: 1, // one blamed crash dead-letters a single-record batch
      retryBackoff: { minMs: 1, maxMs: 5 },
    };
    const a = await misbehavingPipeline({ ...common, actor: { creditWindow: 4 } });
    const b = await misbehavingPipeline({ ...common, join: false });
    try {
      const inflight = (partition: number) =>
        a.dispatcher.snapshot().partitions.find((x) => x.partition === partition)?.inflight ?? 0;
      await until(() => inflight(1) > 0, 20_000, "A running partition 1's slow crash");
      // Partition 0's records reach A's Worker behind the slow crash: innocent batches in flight when it crashes.
      await connector.publish("in", innocents);
      await until(() => inflight(0) > 0, 20_000, "partition 0's batches in flight on A");
      await b.join(); // revokes partition 1 from A while A's Worker still runs its batch
      assert.ok(a.dispatcher.stats.droppedOnRevoke > 0, "A dropped partition 1's in-flight batches");
      await until(() => restartsOf(a.root) >= 1, 20_000, "A's Worker crashed running the revoked batch");
      await allCommitted(connector, "in", "blame", 60_000);
      assert.deepEqual(await deadLetters(connector), ["slowcrash:3000"], "only the record that crashes");
      const out = new Set((await readAll(connector, "out")).map((r) => text(r.value)));
      assert.deepEqual(out, new Set(["b:1", "b:2", "a:0", "a:1", "a:2", "a:3", "a:4"]));
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

for (const oomMode of ["crash", "fail"] as const) {
  Deno.test({
    ...opts,
    name: `crash blame: an allocation failure (out of memory) that ${
      oomMode === "crash" ? "crashes the Worker" : "fails the handler"
    } splits nothing and dead-letters nothing`,
    async fn() {
      await using env = await embeddedLog();
      const { connector, dataDir } = env;
      await createTopics(connector, { in: 1, out: 1, dlq: 1 });
      const oomFlag = `${dataDir}/oom`;
      await Deno.writeTextFile(oomFlag, "every batch fails to allocate while this file exists");
      const values = await publishSeq(connector, "in", 20, { keys: 4 });
      const p = await misbehavingPipeline({
        connector,
        agent: "oom",
        topics: ["in"],
        deadLetterTopic: "dlq",
        fromBeginning: true,
        out: "out",
        oomFlag,
        oomMode,
        maxBatchRecords: 5,
        maxAttempts: 2,
        retryBackoff: { minMs: 1, maxMs: 5 },
        actor: { grants: { read: [oomFlag] } },
      });
      try {
        // Enough crashes that a blamed batch would have been split (after 2) and a record dead-lettered (after 5).
        await until(
          () => (oomMode === "crash" ? restartsOf(p.root) : p.dispatcher.stats.redeliveredBatches) >= 6,
          60_000,
          "six out-of-memory failures",
        );
        assert.equal(p.dispatcher.stats.splits, 0, "no batch split");
        assert.equal(p.dispatcher.stats.deadLetters, 0, "no record dead-lettered");
        await Deno.remove(oomFlag); // memory is back
        await allCommitted(connector, "in", "oom", 60_000);
        assert.deepEqual(await deadLetters(connector), []);
        assert.deepEqual(
          new Set((await readAll(connector, "out")).map((r) => text(r.value))),
          new Set(values),
        );
      } finally {
        await p.stop();
      }
    },
  });
}

Deno.test({
  ...opts,
  name:
    "crash blame: a batch interrupted by its actor's shutdown is redelivered, not failed or dead-lettered",
  async fn() {
    await using env = await embeddedLog();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    await connector.publish("in", ["x:0", "slow:1500", "x:2"].map((v) => ({ key: "x", value: bytes(v) })));
    const p = await misbehavingPipeline({
      connector,
      agent: "stopped",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxBatchRecords: 1,
      maxAttempts: 1,
      retryBackoff: { minMs: 1, maxMs: 5 },
    });
    try {
      await until(() => p.dispatcher.stats.batchesAcked >= 1, 20_000, "the first batch acked");
      const first = p.dispatcher.handle("stopped-0")!;
      // Its supervisor shuts it down (as for a sibling's restart): the handler sees its signal abort and throws.
      await first.stop(5000);
      await allCommitted(connector, "in", "stopped", 60_000);
      assert.deepEqual(await deadLetters(connector), []);
      const out = (await readAll(connector, "out")).map((r) => text(r.value));
      assert.deepEqual(new Set(out), new Set(["x:0", "slow:1500", "x:2"]));
      assert.ok(restartsOf(p.root) >= 1, "the supervisor restarted the stopped actor");
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "crash blame: a Worker that crashes while its actor is being stopped blames no batch",
  async fn() {
    await using env = await embeddedLog();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    await connector.publish(
      "in",
      ["x:0", "stopcrash:1500", "x:2"].map((v) => ({ key: "x", value: bytes(v) })),
    );
    const p = await misbehavingPipeline({
      connector,
      agent: "stopcrash",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxBatchRecords: 1,
      maxAttempts: 1,
      retryBackoff: { minMs: 1, maxMs: 5 },
    });
    try {
      await until(() => p.dispatcher.stats.batchesAcked >= 1, 20_000, "the first batch acked");
      await p.dispatcher.handle("stopcrash-0")!.stop(5000); // the handler crashes its Worker on the abort
      await allCommitted(connector, "in", "stopcrash", 60_000);
      assert.deepEqual(await deadLetters(connector), []);
      const out = (await readAll(connector, "out")).map((r) => text(r.value));
      assert.deepEqual(new Set(out), new Set(["x:0", "stopcrash:1500", "x:2"]));
    } finally {
      await p.stop();
    }
  },
});
