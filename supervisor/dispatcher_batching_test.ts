// Batching by count and time in the dispatcher, seen from the actor: how many records each batch it received
// held, and when it arrived.
import assert from "node:assert/strict";
import { bytesRecords } from "../actors/runtime/agent_record.ts";
import { EmbeddedConnector } from "../connector/embedded/mod.ts";
import {
  allCommitted,
  bytes,
  createTopics,
  publishSeq,
  readAll,
  SINK,
  startPipeline,
  text,
  until,
} from "./_dispatcher_test_helpers.ts";
import { Dispatcher } from "./dispatcher.ts";
import { Supervisor } from "./supervisor.ts";

async function embedded(): Promise<{ connector: EmbeddedConnector; [Symbol.asyncDispose](): Promise<void> }> {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-batching-" });
  // At most 50 records per fetch: batches larger than that are made by the dispatcher's merging.
  const connector = new EmbeddedConnector({ dataDir, fsync: false, maxBatchRecords: 50, retryBackoffMs: 20 });
  await connector.connect();
  return {
    connector,
    async [Symbol.asyncDispose]() {
      await connector.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** One batch the sink actor handled: its size and when it republished it. */
interface Received {
  records: number;
  at: number;
}

/** One instance of the dispatch sink behind a dispatcher; every batch it handled is recorded. */
async function batchingPipeline(
  connector: EmbeddedConnector,
  opts: { group: string; maxBatchRecords: number; maxBatchWaitMs: number; delayMs?: number },
) {
  const received: Received[] = [];
  const dispatcher = new Dispatcher({
    connector,
    agent: opts.group,
    topics: ["in"],
    instances: [`${opts.group}-0`],
    deadLetterTopic: "dlq",
    fromBeginning: true,
    maxBatchRecords: opts.maxBatchRecords,
    maxBatchWaitMs: opts.maxBatchWaitMs,
  });
  const root = await Supervisor.start({
    id: opts.group,
    intensity: 10,
    periodMs: 5000,
    children: dispatcher.children({
      module: SINK,
      config: { out: "out", delayMs: opts.delayMs ?? 0 },
      creditWindow: 2,
      // The sink republishes each batch in one call.
      publish: (topic, records) => {
        received.push({ records: records.length, at: performance.now() });
        return connector.publish(topic, bytesRecords(topic, records));
      },
    }),
  });
  await until(() => dispatcher.handle(`${opts.group}-0`)?.state === "running", 10_000, "the sink actor");
  await dispatcher.start();
  return {
    dispatcher,
    received,
    async stop() {
      await dispatcher.close(2000);
      await root.stop();
    },
  };
}

/** Publishes `n` records to `in`, one per call, `gapMs` apart; returns when the first was acknowledged. */
async function trickle(connector: EmbeddedConnector, n: number, gapMs: number): Promise<number> {
  let first = 0;
  for (let i = 0; i < n; i++) {
    const before = performance.now();
    await connector.publish("in", [{ key: "k", value: bytes(`k:${i}`), headers: {} }]);
    if (i === 0) first = before;
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return first;
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...opts,
  name:
    "batching: a trickle of records reaches the actor in one or two batches, maxBatchWaitMs after the first",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    const p = await batchingPipeline(connector, {
      group: "trickle",
      maxBatchRecords: 500,
      maxBatchWaitMs: 200,
    });
    try {
      const firstPublished = await trickle(connector, 10, 20);
      await allCommitted(connector, "in", "trickle");
      const sizes = p.received.map((b) => b.records);
      assert.equal(sizes.reduce((a, b) => a + b, 0), 10);
      assert.ok(sizes.length <= 2, `10 records 20 ms apart came in ${sizes.length} batches: ${sizes}`);
      const firstAfter = p.received[0]!.at - firstPublished;
      // Not before the wait (the batch was not full), and not much after it (loose: the machine is loaded).
      assert.ok(firstAfter >= 190, `first batch ${firstAfter.toFixed(0)} ms after the first record`);
      assert.ok(firstAfter <= 200 + 800, `first batch ${firstAfter.toFixed(0)} ms after the first record`);
      const out = await readAll(connector, "out");
      assert.deepEqual(out.map((r) => text(r.value)), Array.from({ length: 10 }, (_, i) => `k:${i}`));
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "batching: with maxBatchWaitMs 0 a trickle of records is sent as it comes",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    const p = await batchingPipeline(connector, { group: "eager", maxBatchRecords: 500, maxBatchWaitMs: 0 });
    try {
      const firstPublished = await trickle(connector, 10, 20);
      await allCommitted(connector, "in", "eager");
      assert.ok(p.received.length >= 5, `batches ${p.received.map((b) => b.records)}`);
      const firstAfter = p.received[0]!.at - firstPublished;
      assert.ok(firstAfter < 190, `first batch ${firstAfter.toFixed(0)} ms after the first record`);
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "batching: a burst of 5000 records arrives in batches of at most 500, nearly all exactly 500",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    const values = await publishSeq(connector, "in", 5000, { keys: 1 });
    const p = await batchingPipeline(connector, {
      group: "burst",
      maxBatchRecords: 500,
      maxBatchWaitMs: 200,
    });
    try {
      await allCommitted(connector, "in", "burst");
      const sizes = p.received.map((b) => b.records);
      assert.equal(sizes.reduce((a, b) => a + b, 0), 5000);
      assert.ok(sizes.every((n) => n <= 500), `batch sizes ${sizes}`);
      assert.ok(sizes.filter((n) => n === 500).length >= 9, `batch sizes ${sizes}`);
      const out = await readAll(connector, "out");
      assert.deepEqual(out.map((r) => text(r.value)), values, "once each, in offset order");
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "batching: with maxBatchWaitMs 0, fetches queued behind a full credit window are merged",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    await publishSeq(connector, "in", 2000, { keys: 1 });
    const p = await batchingPipeline(connector, {
      group: "behind",
      maxBatchRecords: 200,
      maxBatchWaitMs: 0,
      delayMs: 30,
    });
    try {
      await allCommitted(connector, "in", "behind");
      const sizes = p.received.map((b) => b.records);
      assert.equal(sizes.reduce((a, b) => a + b, 0), 2000);
      // Fetches hold 50 records; while the actor is busy they grow into batches of up to 200.
      assert.ok(sizes.every((n) => n <= 200), `batch sizes ${sizes}`);
      assert.ok(sizes.filter((n) => n > 50).length >= sizes.length / 2, `batch sizes ${sizes}`);
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "batching: close() sends the batch still waiting to fill and commits it",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    const p = await batchingPipeline(connector, {
      group: "closer",
      maxBatchRecords: 500,
      maxBatchWaitMs: 60_000,
    });
    let stopped = false;
    try {
      await publishSeq(connector, "in", 7, { keys: 1 });
      await until(() => p.dispatcher.snapshot().partitions[0]?.queued === 1, 10_000, "a waiting batch");
      assert.equal(p.received.length, 0, "not sent before its wait is over");
      await p.stop();
      stopped = true;
      assert.deepEqual(p.received.map((b) => b.records), [7]);
      const [offsets] = await connector.offsets("in", "closer");
      assert.equal(offsets?.committed, offsets?.high, "the flushed batch was committed");
    } finally {
      if (!stopped) await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "batching: poison records are isolated in merged batches; retries are not merged with new records",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 2, out: 2, dlq: 1 });
    const poison = new Set([37, 150]);
    const values = await publishSeq(connector, "in", 400, {
      keys: 10,
      value: (i, key) => (poison.has(i) ? "poison" : `${key}:${i}`),
    });
    const p = await startPipeline({
      connector,
      agent: "poisoned-batches",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxBatchRecords: 120,
      maxBatchWaitMs: 50,
      maxAttempts: 2,
      retryBackoff: { minMs: 1, maxMs: 5 },
    });
    try {
      await allCommitted(connector, "in", "poisoned-batches");
      assert.equal((await readAll(connector, "dlq")).length, 2);
      const out = await readAll(connector, "out");
      const good = values.filter((v) => v !== "poison");
      assert.equal(out.length, good.length, "batch-mates were processed once each");
      assert.deepEqual(new Set(out.map((r) => text(r.value))), new Set(good));
    } finally {
      await p.stop();
    }
  },
});
