/**
 * Topics as code against three TopicAdmins: an in-memory one written here, the embedded connector, and the
 * real Kafka from the test services (skipped when KAFKA_BROKERS is unset).
 */
import assert from "node:assert/strict";
import { EmbeddedConnector } from "../embedded/embedded_connector.ts";
import { KafkaConnector } from "../kafka/kafka_connector.ts";
import type { StreamConnector, TopicAdmin, TopicDescription } from "../types.ts";
import { applyTopics, RiskyTopicChangeError, TopicChangeRefusedError } from "./apply_topics.ts";
import { declaredTopics } from "./declared_topics.ts";
import { formatTopicPlan } from "./format_topic_plan.ts";
import {
  planHasChanges,
  planTopics,
  RISKY_TOPIC_CONFIG,
  riskyChanges,
  riskyTopicConfigFor,
  withoutRiskyChanges,
} from "./topic_plan.ts";

/** A TopicAdmin over a Map, with Kafka's rules for partitions. */
class MemoryTopicAdmin implements TopicAdmin {
  readonly topics = new Map<string, TopicDescription>();
  listTopics() {
    return Promise.resolve([...this.topics.keys()]);
  }
  describeTopics(names: string[]) {
    return Promise.resolve(names.flatMap((n) => {
      const t = this.topics.get(n);
      return t ? [structuredClone(t)] : [];
    }));
  }
  createTopics(topics: TopicDescription[]) {
    for (const t of topics) {
      if (this.topics.has(t.name)) return Promise.reject(new Error(`topic ${t.name} exists`));
    }
    for (const t of topics) this.topics.set(t.name, structuredClone(t));
    return Promise.resolve();
  }
  createPartitions(topic: string, total: number) {
    const t = this.topics.get(topic);
    if (!t) return Promise.reject(new Error(`no topic ${topic}`));
    if (total < t.partitions) return Promise.reject(new RangeError("fewer partitions"));
    t.partitions = total;
    return Promise.resolve();
  }
  alterTopicConfig(topic: string, config: Record<string, string>) {
    const t = this.topics.get(topic);
    if (!t) return Promise.reject(new Error(`no topic ${topic}`));
    Object.assign(t.config, config);
    return Promise.resolve();
  }
  deleteTopics(names: string[]) {
    for (const n of names) this.topics.delete(n);
    return Promise.resolve();
  }
}

function uniquePrefix(): string {
  return `qistream-topics-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
}

/** The whole plan/apply story against one admin. */
async function planApplyStory(admin: TopicAdmin, prefix: string) {
  const a = `${prefix}.a`;
  const b = `${prefix}.b`;
  const declared = declaredTopics({
    [a]: {
      partitions: 2,
      replicationFactor: 1,
      cleanupPolicy: "delete",
      compression: "lz4",
      retentionMs: 3_600_000,
    },
    [b]: { partitions: 1, replicationFactor: 1, cleanupPolicy: "compact", compression: "none" },
  });
  assert.deepEqual(declared[0]!.config, {
    "cleanup.policy": "delete",
    "compression.type": "lz4",
    "retention.ms": "3600000",
  });
  assert.equal(declared[1]!.config["compression.type"], "producer");

  // 1. Nothing exists: two creates.
  const first = await planTopics(declared, admin);
  assert.deepEqual(first.changes.map((c) => [c.kind, c.topic]), [["create", a], ["create", b]]);
  assert.match(formatTopicPlan(first), new RegExp(`\\+ ${a.replaceAll(".", "\\.")}: create \\(partitions 2`));
  await applyTopics(first, admin);
  const [da] = await admin.describeTopics([a]);
  assert.equal(da?.partitions, 2);
  assert.equal(da?.config["retention.ms"], "3600000");
  assert.equal(da?.config["cleanup.policy"], "delete");

  // 2. Applied: the same declaration plans nothing.
  const again = await planTopics(declared, admin);
  assert.deepEqual(again.changes.map((c) => c.kind), ["unchanged", "unchanged"]);
  assert.equal(planHasChanges(again), false);
  assert.match(formatTopicPlan(again), /Plan: 0 to create, 0 to change, 2 unchanged, 0 refused\./);

  // 3. More partitions and a new retention: add partitions and alter config.
  const grown = declaredTopics({
    [a]: {
      partitions: 4,
      replicationFactor: 1,
      cleanupPolicy: "delete",
      compression: "lz4",
      retentionMs: 7_200_000,
    },
  });
  const plan3 = await planTopics(grown, admin);
  assert.deepEqual(plan3.changes, [
    { kind: "add-partitions", topic: a, from: 2, to: 4 },
    { kind: "alter-config", topic: a, changes: [{ key: "retention.ms", from: "3600000", to: "7200000" }] },
  ]);
  const text = formatTopicPlan(plan3);
  assert.match(text, /partitions 2 -> 4/);
  assert.match(text, /retention\.ms 3600000 -> 7200000/);
  await applyTopics(plan3, admin);
  const [da2] = await admin.describeTopics([a]);
  assert.equal(da2?.partitions, 4);
  assert.equal(da2?.config["retention.ms"], "7200000");
  assert.equal(da2?.config["cleanup.policy"], "delete", "keys not in the change are kept");

  // 4. Fewer partitions: refused with a clear reason, and apply changes nothing.
  const shrunk = declaredTopics({
    [a]: {
      partitions: 1,
      replicationFactor: 1,
      cleanupPolicy: "delete",
      compression: "lz4",
      retentionMs: 1000,
    },
  });
  const plan4 = await planTopics(shrunk, admin);
  const refused = plan4.changes.find((c) => c.kind === "refused");
  assert.ok(refused && refused.kind === "refused");
  assert.match(refused.reason, /cannot reduce partitions from 4 to 1/);
  assert.match(formatTopicPlan(plan4), /! .*: REFUSED: cannot reduce partitions from 4 to 1/);
  await assert.rejects(() => applyTopics(plan4, admin), (err: unknown) => {
    assert.ok(err instanceof TopicChangeRefusedError);
    assert.match(err.message, /nothing was changed/);
    assert.equal(err.refused.length, 1);
    return true;
  });
  const [da3] = await admin.describeTopics([a]);
  assert.equal(da3?.partitions, 4);
  assert.equal(da3?.config["retention.ms"], "7200000", "the refused plan's config change was not applied");

  // 5. Another compression and cleanup policy: risky, held back unless allowed; the safe change goes alone.
  const risky = declaredTopics({
    [a]: {
      partitions: 4,
      replicationFactor: 1,
      cleanupPolicy: "compact",
      compression: "zstd",
      retentionMs: 9_000_000,
    },
  });
  const plan5 = await planTopics(risky, admin);
  assert.deepEqual(plan5.changes, [
    { kind: "alter-config", topic: a, changes: [{ key: "retention.ms", from: "7200000", to: "9000000" }] },
    {
      kind: "risky-config",
      topic: a,
      changes: [
        { key: "cleanup.policy", from: "delete", to: "compact" },
        { key: "compression.type", from: "lz4", to: "zstd" },
      ],
      reason: `cleanup.policy: ${RISKY_TOPIC_CONFIG["cleanup.policy"]}; ` +
        `compression.type: ${RISKY_TOPIC_CONFIG["compression.type"]}`,
    },
  ]);
  const text5 = formatTopicPlan(plan5);
  assert.match(
    text5,
    /!~ .*: compression\.type lz4 -> zstd \(risky: new batches are stored in another codec/,
  );
  assert.match(text5, /!~ .*: cleanup\.policy delete -> compact \(risky: /);
  assert.match(
    text5,
    /Plan: 0 to create, 1 to change, 0 unchanged, 0 refused, 1 risky \(needs --allow-risky-changes\)\./,
  );
  await assert.rejects(() => applyTopics(plan5, admin), (err: unknown) => {
    assert.ok(err instanceof RiskyTopicChangeError);
    assert.match(err.message, /nothing was changed/);
    assert.match(err.message, /compression\.type lz4 -> zstd/);
    assert.match(err.message, /--allow-risky-changes/);
    return true;
  });
  const [da4] = await admin.describeTopics([a]);
  assert.equal(da4?.config["retention.ms"], "7200000", "a plan held back for a risky change changes nothing");
  assert.deepEqual(riskyChanges(plan5).map((c) => c.topic), [a]);
  await applyTopics(withoutRiskyChanges(plan5), admin);
  const [da5] = await admin.describeTopics([a]);
  assert.equal(da5?.config["retention.ms"], "9000000", "the safe change is applied without the risky one");
  assert.equal(da5?.config["compression.type"], "lz4");
  assert.equal(da5?.config["cleanup.policy"], "delete");
  await applyTopics(await planTopics(risky, admin), admin, { allowRiskyChanges: true });
  const [da6] = await admin.describeTopics([a]);
  assert.equal(da6?.config["compression.type"], "zstd", "applied when allowed");
  assert.equal(da6?.config["cleanup.policy"], "compact");
  assert.deepEqual((await planTopics(risky, admin)).changes.map((c) => c.kind), ["unchanged"]);
}

Deno.test("topics: plan/apply against an in-memory admin; replication changes and duplicates are refused", async () => {
  const admin = new MemoryTopicAdmin();
  await planApplyStory(admin, uniquePrefix());
  admin.topics.set("r", { name: "r", partitions: 1, replicationFactor: 1, config: {} });
  const plan = await planTopics([{ name: "r", partitions: 1, replicationFactor: 3, config: {} }], admin);
  assert.equal(plan.changes[0]?.kind, "refused");
  assert.match(formatTopicPlan(plan), /cannot change the replication factor from 1 to 3/);
  // On the embedded log no key is risky: a compression change is an ordinary config change.
  admin.topics.set("e", {
    name: "e",
    partitions: 1,
    replicationFactor: 1,
    config: { "compression.type": "lz4" },
  });
  const want = [{
    name: "e",
    partitions: 1,
    replicationFactor: 1,
    config: { "compression.type": "producer" },
  }];
  assert.equal((await planTopics(want, admin)).changes[0]?.kind, "risky-config");
  assert.equal(
    (await planTopics(want, admin, { risky: riskyTopicConfigFor("kafka") })).changes[0]?.kind,
    "risky-config",
  );
  assert.deepEqual((await planTopics(want, admin, { risky: riskyTopicConfigFor("embedded") })).changes, [
    { kind: "alter-config", topic: "e", changes: [{ key: "compression.type", from: "lz4", to: "producer" }] },
  ]);
  await assert.rejects(
    () =>
      planTopics([
        { name: "x", partitions: 1, replicationFactor: 1, config: {} },
        { name: "x", partitions: 2, replicationFactor: 1, config: {} },
      ], admin),
    /declared twice/,
  );
});

async function withConnector(connector: StreamConnector, fn: (c: StreamConnector) => Promise<void>) {
  await connector.connect();
  try {
    await fn(connector);
  } finally {
    await connector.close();
  }
}

Deno.test("topics: plan/apply against the embedded connector", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-topics-" });
  try {
    await withConnector(new EmbeddedConnector({ dataDir }), (c) => planApplyStory(c.admin, uniquePrefix()));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

const brokers = Deno.env.get("KAFKA_BROKERS");
Deno.test({
  name: `topics: plan/apply against the real Kafka${brokers ? "" : " (skipped: KAFKA_BROKERS is not set)"}`,
  ignore: !brokers,
  async fn() {
    const prefix = uniquePrefix();
    await withConnector(new KafkaConnector({ brokers: brokers!.split(",") }), async (c) => {
      try {
        await planApplyStory(c.admin, prefix);
      } finally {
        await c.admin.deleteTopics([`${prefix}.a`, `${prefix}.b`]);
      }
    });
  },
});
