import assert from "node:assert/strict";
import postgres from "postgres";
import { EmbeddedConnector } from "../../connector/embedded/mod.ts";
import { KafkaConnector } from "../../connector/kafka/kafka_connector.ts";
import { allCommitted, createTopics, until } from "../../supervisor/_dispatcher_test_helpers.ts";
import { needs, services, uniqueName } from "../../tests/service_env.ts";
import { EMBEDDED_CLIENT_OPTIONS, startEmbeddedPostgres } from "../../tools/embedded_postgres.ts";
import { postgresTools } from "../../tools/postgres_tools.ts";
import { postgresDatabase, publishTicks, startSinkPipeline, ticks, tickSerde } from "./_sink_test_helpers.ts";
import { exactlyOnceInTable, refusedRowsDeadLettered } from "./_tick_sink_scenarios.ts";
import { spec } from "./postgres_sink.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function embeddedConnector() {
  const dir = await Deno.makeTempDir({ prefix: "qistream-pg-sink-" });
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

Deno.test("postgres-sink: spec names its two tools, no permissions, config defaults", () => {
  assert.equal(spec.name, "postgres-sink");
  assert.deepEqual(spec.tools, ["postgres.ensure_table", "postgres.insert_rows"]);
  assert.deepEqual(spec.permissions, {});
  const config = spec.config!.parse({});
  assert.equal(config.table, "market_ticks");
  assert.deepEqual(config.retry, { initialMs: 200, maxMs: 10_000, factor: 2, jitter: 0.2 });
  assert.deepEqual(config.breaker, { failureThreshold: 5, openMs: 5000 });
  assert.throws(() => spec.config!.parse({ table: "Bad-Name" }));
});

Deno.test({
  ...opts,
  ...needs("DATABASE_URL"),
  name: "postgres-sink: N unique ticks in gives N rows in PostgreSQL, each written once (no duplicate sent)",
  async fn() {
    await using env = await embeddedConnector();
    const db = postgresDatabase(services.databaseUrl!);
    try {
      await exactlyOnceInTable(env.connector, db, { n: 5000, kill: false, dir: env.dir });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  ...opts,
  ...needs("DATABASE_URL"),
  name: "postgres-sink: actors killed mid-batch, batches redelivered: still exactly N rows",
  async fn() {
    await using env = await embeddedConnector();
    const db = postgresDatabase(services.databaseUrl!);
    try {
      await exactlyOnceInTable(env.connector, db, { n: 6000, kill: true, dir: env.dir });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  ...opts,
  ...needs("DATABASE_URL"),
  name: "postgres-sink: a row PostgreSQL refuses is dead-lettered with its error; batch-mates are written",
  async fn() {
    await using env = await embeddedConnector();
    const db = postgresDatabase(services.databaseUrl!);
    try {
      await refusedRowsDeadLettered(env.connector, db, {
        dir: env.dir,
        databaseMessage: /23514: new row for relation ".*" violates check constraint/,
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  ...opts,
  ...needs("DATABASE_URL", "KAFKA_BROKERS"),
  name: "postgres-sink: over real Kafka, with an actor killed mid-batch: exactly N rows",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "qistream-pg-sink-kafka-" });
    const connector = new KafkaConnector({
      brokers: services.kafkaBrokers!,
      clientId: uniqueName("pg-sink"),
      linger: 2,
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
      maxWaitTimeInMs: 100,
    });
    await connector.connect();
    const db = postgresDatabase(services.databaseUrl!);
    try {
      await exactlyOnceInTable(connector, db, { n: 4000, kill: true, dir });
    } finally {
      await db.close();
      await connector.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    "postgres-sink: a database outage holds the batches (no dead letters); embedded PostgreSQL comes up, rows land",
  async fn() {
    await using env = await embeddedConnector();
    const { connector, dir } = env;
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    // The client points at a port where nothing listens yet: every tool call fails with ECONNREFUSED.
    const sql = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, {
      ...EMBEDDED_CLIENT_OPTIONS,
      onnotice: () => {},
      connect_timeout: 2,
    });
    const serde = await tickSerde(dir, "ticks");
    await createTopics(connector, { ticks: 2, dlq: 1 });
    await publishTicks(connector, serde, "ticks", ticks(1000));
    // Count the tool calls that failed, so the test knows the sink really met the outage.
    let failedCalls = 0;
    const tools = postgresTools({ sql }).map((tool) => ({
      ...tool,
      handler: async (args: never, ctx: never) => {
        try {
          return await tool.handler(args, ctx);
        } catch (error) {
          failedCalls++;
          throw error;
        }
      },
    }));
    const p = await startSinkPipeline({
      connector,
      database: "postgres",
      tools,
      serde,
      topic: "ticks",
      deadLetterTopic: "dlq",
      group: "outage",
      config: { retry: { initialMs: 50, maxMs: 300 }, breaker: { failureThreshold: 3, openMs: 200 } },
      maxBatchRecords: 100,
    });
    let pg: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
    try {
      // Both actors hold batches and have tried the database again and again (about 1 s of failures).
      await until(
        () => failedCalls >= 10 && p.dispatcher.snapshot().partitions.every((x) => x.inflight > 0),
        60_000,
        "the sinks to meet the outage",
      );
      assert.equal(p.dispatcher.stats.recordsAcked, 0, "nothing acked during the outage");
      assert.equal(p.dispatcher.stats.deadLetters, 0, "nothing dead-lettered during the outage");
      assert.equal(p.dispatcher.stats.retries, 0, "the handler retried, not the dispatcher");
      assert.ok(
        p.dispatcher.snapshot().partitions.every((x) => x.inflight > 0),
        "each partition's batches held",
      );
      pg = await startEmbeddedPostgres({ dataDir: dir, port });
      await allCommitted(connector, "ticks", "outage", 60_000);
      const [r] = await sql`SELECT count(*)::int AS n FROM market_ticks`;
      assert.equal(r!.n, 1000);
      assert.equal(p.dispatcher.stats.deadLetters, 0);
    } finally {
      await p.stop();
      await sql.end();
      await pg?.stop();
    }
  },
});
