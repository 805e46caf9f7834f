/**
 * What a starting node does with topics that already exist with another compression or cleanup policy: on Kafka
 * it keeps them and says so (skipped when KAFKA_BROKERS is unset); on the embedded log, where neither setting
 * has an effect, it applies them.
 */
import assert from "node:assert/strict";
import { setupLogging } from "../core/log.ts";
import { EmbeddedConnector } from "../connector/embedded/embedded_connector.ts";
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import type { StreamConnector } from "../connector/types.ts";
import { declareTopics } from "./declare_topics.ts";

async function kafkaStory(connector: StreamConnector, topic: string): Promise<void> {
  const lines: string[] = [];
  setupLogging({ level: "info", output: (line) => lines.push(line) });
  try {
    await connector.admin.createTopics([{
      name: topic,
      partitions: 2,
      replicationFactor: 1,
      config: { "compression.type": "producer", "cleanup.policy": "delete", "retention.ms": "3600000" },
    }]);
    const held = await declareTopics({
      [topic]: {
        partitions: 3,
        replicationFactor: 1,
        cleanupPolicy: "compact",
        compression: "lz4",
        retentionMs: 7_200_000,
      },
    }, connector);
    assert.deepEqual(held.map((h) => [h.topic, h.changes.map((c) => c.key)]), [
      [topic, ["cleanup.policy", "compression.type"]],
    ]);
    const [now] = await connector.admin.describeTopics([topic]);
    assert.equal(now?.config["compression.type"], "producer", "the compression is kept");
    assert.equal(now?.config["cleanup.policy"], "delete", "the cleanup policy is kept");
    assert.equal(now?.config["retention.ms"], "7200000", "safe changes are applied");
    assert.equal(now?.partitions, 3, "partitions are added");
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.level === "WARN" || l.level === "WARNING");
    assert.ok(warning, `a warning is logged; got ${lines.join("")}`);
    assert.match(warning.message, /not applying the risky change of/);
    assert.match(warning.message, /compression\.type producer -> lz4/);
    assert.match(warning.message, /cleanup\.policy delete -> compact/);
    assert.match(warning.message, /deno task topics apply --allow-risky-changes/);
  } finally {
    setupLogging({ level: "fatal" });
    await connector.admin.deleteTopics([topic]).catch(() => {});
  }
}

Deno.test("declareTopics on start applies compression and cleanup policy on the embedded log, where neither has an effect", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-declare-" });
  const connector = new EmbeddedConnector({ dataDir });
  await connector.connect();
  try {
    const topic = "market.declare-test";
    await connector.admin.createTopics([{
      name: topic,
      partitions: 2,
      replicationFactor: 1,
      config: { "compression.type": "lz4", "cleanup.policy": "delete" },
    }]);
    const held = await declareTopics({
      [topic]: { partitions: 2, replicationFactor: 1, cleanupPolicy: "compact", compression: "none" },
    }, connector);
    assert.deepEqual(held, [], "no change is risky on a log that neither compresses nor compacts");
    const [now] = await connector.admin.describeTopics([topic]);
    assert.equal(now?.config["compression.type"], "producer");
    assert.equal(now?.config["cleanup.policy"], "compact");
  } finally {
    await connector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

const brokers = Deno.env.get("KAFKA_BROKERS");
Deno.test({
  name:
    `declareTopics on start keeps an existing topic's compression and cleanup policy and logs why (real Kafka)${
      brokers ? "" : " (skipped: KAFKA_BROKERS is not set)"
    }`,
  ignore: !brokers,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const connector = new KafkaConnector({ brokers: brokers!.split(",") });
    await connector.connect();
    try {
      await kafkaStory(
        connector,
        `qistream-declare-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`,
      );
    } finally {
      await connector.close();
    }
  },
});
