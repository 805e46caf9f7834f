import assert from "node:assert/strict";
import { EmbeddedConnector } from "../../connector/embedded/mod.ts";
import { KafkaConnector } from "../../connector/kafka/kafka_connector.ts";
import { needs, services, uniqueName } from "../../tests/service_env.ts";
import { clickhouseDatabase } from "./_sink_test_helpers.ts";
import { exactlyOnceInTable, refusedRowsDeadLettered } from "./_tick_sink_scenarios.ts";
import { spec } from "./clickhouse_sink.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function embeddedConnector() {
  const dir = await Deno.makeTempDir({ prefix: "qistream-ch-sink-" });
  const connector = new EmbeddedConnector({
    dataDir: dir,
    fsync: false,
    maxBatchRecords: 200,
    retryBackoffMs: 20,
  });
  await connector.connect();
  return {
    connector,
    dir,
    async [Symbol.asyncDispose]() {
      await connector.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("clickhouse-sink: spec names its two tools, no permissions, config defaults", () => {
  assert.equal(spec.name, "clickhouse-sink");
  assert.deepEqual(spec.tools, ["clickhouse.ensure_table", "clickhouse.insert_rows"]);
  assert.deepEqual(spec.permissions, {});
  assert.equal(spec.config!.parse({}).table, "market_ticks");
});

Deno.test({
  ...opts,
  ...needs("CLICKHOUSE_URL"),
  name:
    "clickhouse-sink: N unique ticks in gives N rows in ClickHouse, each inserted once (raw table, no FINAL)",
  async fn() {
    await using env = await embeddedConnector();
    const db = clickhouseDatabase(services.clickhouseUrl!);
    try {
      await exactlyOnceInTable(env.connector, db, { n: 5000, kill: false, dir: env.dir });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  ...opts,
  ...needs("CLICKHOUSE_URL"),
  name:
    "clickhouse-sink: actors killed mid-batch, batches redelivered: no loss after dedup (N rows with FINAL)",
  async fn() {
    await using env = await embeddedConnector();
    const db = clickhouseDatabase(services.clickhouseUrl!);
    try {
      await exactlyOnceInTable(env.connector, db, { n: 6000, kill: true, dir: env.dir });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  ...opts,
  ...needs("CLICKHOUSE_URL"),
  name:
    "clickhouse-sink: a row ClickHouse refuses is dead-lettered with its error; batch-mates are written (no loss after dedup)",
  async fn() {
    await using env = await embeddedConnector();
    const db = clickhouseDatabase(services.clickhouseUrl!);
    try {
      await refusedRowsDeadLettered(env.connector, db, {
        dir: env.dir,
        databaseMessage: /\(database\): \d+: /,
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  ...opts,
  ...needs("CLICKHOUSE_URL", "KAFKA_BROKERS"),
  name:
    "clickhouse-sink: over real Kafka, with an actor killed mid-batch: no loss after dedup (N rows with FINAL)",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "qistream-ch-sink-kafka-" });
    const connector = new KafkaConnector({
      brokers: services.kafkaBrokers!,
      clientId: uniqueName("ch-sink"),
      linger: 2,
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
      maxWaitTimeInMs: 100,
    });
    await connector.connect();
    const db = clickhouseDatabase(services.clickhouseUrl!);
    try {
      await exactlyOnceInTable(connector, db, { n: 4000, kill: true, dir });
    } finally {
      await db.close();
      await connector.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
