import assert from "node:assert/strict";
import { EmbeddedConnector } from "../connector/embedded/mod.ts";
import { DLQ_HEADERS } from "../connector/dead_letter.ts";
import { metricsText } from "../core/metrics.ts";
import {
  allCommitted,
  type CommitCall,
  crashMidStream,
  createTopics,
  fastProducer,
  publishSeq,
  readAll,
  recordingCommits,
  startPipeline,
  text,
  until,
} from "./_dispatcher_test_helpers.ts";
import { Dispatcher } from "./dispatcher.ts";

async function embedded(): Promise<{ connector: EmbeddedConnector; [Symbol.asyncDispose](): Promise<void> }> {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-dispatch-" });
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

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...opts,
  name: "dispatch: every record reaches the sink once and in per-key order, offsets committed to the end",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 6, out: 6, dlq: 1 });
    const values = await publishSeq(connector, "in", 3000, { keys: 60 });
    const p = await startPipeline({
      connector,
      agent: "sink",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      instances: 3,
      out: "out",
      maxBatchRecords: 20,
    });
    try {
      await allCommitted(connector, "in", "sink");
      const out = await readAll(connector, "out");
      assert.equal(out.length, values.length, "no duplicates without crashes");
      assert.deepEqual(new Set(out.map((r) => text(r.value))), new Set(values));
      // Per-key order: each key's sequence numbers strictly increase at the sink.
      const last = new Map<string, number>();
      for (const r of out.sort((a, b) => Number(a.offset) - Number(b.offset))) {
        const [key, seq] = text(r.value).split(":") as [string, string];
        assert.ok((last.get(key) ?? -1) < Number(seq), `order of ${key}`);
        last.set(key, Number(seq));
      }
      // Each partition has exactly one owner, every instance owns some, and the correlation id was carried.
      const snap = p.dispatcher.snapshot();
      assert.equal(snap.partitions.length, 6);
      assert.equal(new Set(snap.partitions.map((x) => x.owner)).size, 3);
      for (const part of snap.partitions) assert.ok(part.committed !== null && part.inflight === 0);
      // Stable ownership: every key was handled by one actor only; the correlation id was carried through.
      const actorOfKey = new Map<string, string>();
      for (const r of out) {
        const key = text(r.key);
        assert.equal(actorOfKey.get(key) ?? r.headers.actor, r.headers.actor, `one actor for ${key}`);
        actorOfKey.set(key, r.headers.actor!);
        assert.equal(r.headers["correlation-id"], `c-${text(r.value).split(":")[1]}`);
      }
      assert.equal(p.dispatcher.stats.redeliveredBatches, 0);
      assert.match(await metricsText(), /dispatcher_commits_total\{agent="sink",topic="in"\} [1-9]/);
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "dispatch: killing an actor mid-stream loses nothing; duplicates are only redelivered batches",
  async fn() {
    await using env = await embedded();
    await crashMidStream(env.connector, { in: "in", out: "out", dlq: "dlq", group: "crashy" }, assert);
  },
});

Deno.test({
  ...opts,
  name:
    "dispatch: poison records go to the dead-letter topic with their error; batch-mates and partition go on",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 2, out: 2, dlq: 1 });
    const poison = new Set([37, 150]);
    const values = await publishSeq(connector, "in", 200, {
      keys: 10,
      value: (i, key) => (poison.has(i) ? "poison" : `${key}:${i}`),
    });
    const p = await startPipeline({
      connector,
      agent: "poisoned",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      out: "out",
      maxBatchRecords: 20,
      maxAttempts: 2,
      retryBackoff: { minMs: 1, maxMs: 5 },
    });
    try {
      await allCommitted(connector, "in", "poisoned");
      const dead = await readAll(connector, "dlq");
      assert.equal(dead.length, 2);
      for (const d of dead) {
        assert.equal(text(d.value), "poison");
        assert.equal(d.headers[DLQ_HEADERS.stage], "handler");
        assert.equal(d.headers[DLQ_HEADERS.errorClass], "RangeError");
        assert.match(d.headers[DLQ_HEADERS.errorMessage]!, /poison record at offset/);
        assert.equal(d.headers[DLQ_HEADERS.agent], "poisoned");
        assert.equal(d.headers[DLQ_HEADERS.sourceTopic], "in");
        assert.ok(Number(d.headers[DLQ_HEADERS.attempts]) >= 2);
      }
      const out = await readAll(connector, "out");
      const good = values.filter((v) => v !== "poison");
      assert.deepEqual(new Set(out.map((r) => text(r.value))), new Set(good));
      assert.equal(out.length, good.length, "batch-mates were processed once each");
      assert.ok(p.dispatcher.stats.splits > 0);
      assert.equal(p.dispatcher.stats.deadLetters, 2);
      assert.match(
        await metricsText(),
        /qistream_dead_letters_total\{[^}]*stage="handler"[^}]*agent="poisoned"\} 2/,
      );
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "dispatch: a record that crashes its Worker is dead-lettered after bounded restarts",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    await publishSeq(connector, "in", 40, {
      keys: 5,
      value: (i, key) => (i === 13 ? "crash" : `${key}:${i}`),
    });
    const p = await startPipeline({
      connector,
      agent: "crasher",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      instances: 1,
      out: "out",
      maxBatchRecords: 16,
      maxAttempts: 2,
      retryBackoff: { minMs: 1, maxMs: 5 },
    });
    try {
      await allCommitted(connector, "in", "crasher", 30_000);
      const dead = await readAll(connector, "dlq");
      assert.equal(dead.length, 1);
      assert.equal(text(dead[0]!.value), "crash");
      assert.equal(dead[0]!.headers[DLQ_HEADERS.errorClass], "ActorCrashError");
      assert.equal((await readAll(connector, "out")).length >= 39, true);
      const restarts = p.root.snapshot().children[0]!;
      assert.ok("restarts" in restarts && restarts.restarts <= 12, `restarts ${JSON.stringify(restarts)}`);
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "dispatch: an undecodable record goes to the dead-letter topic at stage decode, never to an actor",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 1, out: 1, dlq: 1 });
    await publishSeq(connector, "in", 30, { value: (i) => (i === 7 ? "{not json" : JSON.stringify({ i })) });
    const p = await startPipeline({
      connector,
      agent: "decoder",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      instances: 1,
      out: "out",
      decode: (r) => (JSON.parse(text(r.value)), r.value),
    });
    try {
      await allCommitted(connector, "in", "decoder");
      const dead = await readAll(connector, "dlq");
      assert.equal(dead.length, 1);
      assert.equal(text(dead[0]!.value), "{not json");
      assert.equal(dead[0]!.headers[DLQ_HEADERS.stage], "decode");
      assert.equal(dead[0]!.headers[DLQ_HEADERS.errorClass], "SyntaxError");
      assert.equal(dead[0]!.headers[DLQ_HEADERS.sourceOffset], "7");
      const out = await readAll(connector, "out");
      assert.equal(out.length, 29);
      assert.ok(!out.some((r) => text(r.value) === "{not json"));
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "dispatch: a producer ten times faster than the consumer leaves memory flat (credit window, pause)",
  async fn() {
    await using env = await embedded();
    // The embedded log delivers at most 50 records per fetch: 5 batches of 10 wait per partition at most.
    await fastProducer(env.connector, { in: "in", out: "out", dlq: "dlq", group: "slowpoke" }, 5, assert);
  },
});

Deno.test({
  ...opts,
  name: "dispatch: a revoked partition's in-flight batches are dropped without commit; the new owner resumes",
  async fn() {
    await using env = await embedded();
    const { connector } = env;
    await createTopics(connector, { in: 2, out: 2, dlq: 1 });
    const values = await publishSeq(connector, "in", 200, { keys: 20 });
    const commitsOfA: CommitCall[] = [];
    const a = await startPipeline({
      connector: recordingCommits(connector, commitsOfA),
      agent: "shared",
      topics: ["in"],
      deadLetterTopic: "dlq",
      fromBeginning: true,
      instances: 1,
      out: "out",
      maxBatchRecords: 5,
      delayMs: 100,
    });
    let b: Awaited<ReturnType<typeof startPipeline>> | undefined;
    try {
      await until(() => a.dispatcher.snapshot().partitions.filter((x) => x.inflight > 0).length === 2);
      b = await startPipeline({
        connector,
        agent: "shared",
        topics: ["in"],
        deadLetterTopic: "dlq",
        fromBeginning: true,
        instances: 1,
        out: "out",
      });
      await until(() => a.dispatcher.snapshot().partitions.length === 1, 10_000, "a revocation on A");
      const revokedAt = performance.now();
      const kept = a.dispatcher.snapshot().partitions[0]!.partition;
      const revoked = 1 - kept;
      assert.ok(a.dispatcher.stats.droppedOnRevoke > 0, "A had batches in flight on the revoked partition");
      await allCommitted(connector, "in", "shared", 30_000);
      // A's actor finishes (and acks) the batches it still held of the revoked partition: only then would a
      // wrong commit have been made, so wait for that before looking.
      await until(
        () => a.dispatcher.handle("shared-0")?.inflight === 0,
        30_000,
        "A's actor to ack what it held",
      );
      assert.deepEqual(
        commitsOfA.filter((c) => c.partition === revoked && c.at > revokedAt),
        [],
        "A committed nothing of the revoked partition after revocation",
      );
      const out = await readAll(connector, "out");
      assert.deepEqual(new Set(out.map((r) => text(r.value))), new Set(values));
    } finally {
      await b?.stop();
      await a.stop();
    }
  },
});

Deno.test("dispatcher refuses bad options with built-in errors", () => {
  const connector = new EmbeddedConnector({ dataDir: "/nonexistent-never-opened" });
  const base = { connector, agent: "a", topics: ["t"], instances: ["a-0"], deadLetterTopic: "dlq" };
  assert.throws(() => new Dispatcher({ ...base, instances: [] }), RangeError);
  assert.throws(() => new Dispatcher({ ...base, instances: ["x", "x"] }), RangeError);
  assert.throws(() => new Dispatcher({ ...base, maxAttempts: 0 }), RangeError);
  assert.throws(() => new Dispatcher({ ...base, deadLetterTopic: "" }), TypeError);
  assert.throws(() => new Dispatcher(base).attach("nope", undefined as never), RangeError);
});
