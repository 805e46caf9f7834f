import assert from "node:assert/strict";
import postgres from "postgres";
import { startNode, testConfig } from "../tests/e2e/_pipeline_harness.ts";
import { needs, services, uniqueName } from "../tests/service_env.ts";
import { agentTables } from "./check_agent_tables.ts";
import { PipelineStartError } from "./start_pipeline.ts";

Deno.test({
  ...needs("DATABASE_URL"),
  name:
    "pipeline: a sink's table in the old layout (keyed by symbol, source, ts) fails the start, saying how to " +
    "migrate it; after the migration the node starts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-old-table-" });
    const table = uniqueName("old_layout").toLowerCase();
    const sql = postgres(services.databaseUrl!, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(
        `CREATE TABLE "${table}" (symbol text NOT NULL, source text NOT NULL, exchange text,
         ts timestamptz NOT NULL CHECK (ts >= 'epoch'), price double precision NOT NULL, bid double precision,
         ask double precision, volume double precision, PRIMARY KEY (symbol, source, ts))`,
      );
      const config = testConfig(
        `node: { dataDir: ${dataDir}, deadLetterTopic: t.dlq }
topics:
  t.ticks: { partitions: 2, schema: market.tick }
  t.dlq: { partitions: 1 }
agents:
  pg:
    kind: postgres-sink
    subscribe: { topics: [t.ticks], fromBeginning: true }
    config: { table: ${table} }`,
        { DATABASE_URL: services.databaseUrl },
      );
      let refusal: Error | undefined;
      await assert.rejects(startNode(config), (e: unknown) => {
        assert.ok(e instanceof PipelineStartError, String(e));
        refusal = e;
        return true;
      });
      assert.match(refusal!.message, /checking the table of agents\.pg/);
      assert.match(refusal!.message, new RegExp(`postgres table "${table}": it has an older layout`));
      assert.match(refusal!.message, /docs\/sinks\.md/);
      const migration = (refusal!.cause as { migration: string[] }).migration;
      assert.ok(migration.length > 0 && migration.every((s) => refusal!.message.includes(s)));

      for (const statement of migration) await sql.unsafe(statement);
      const node = await startNode(config);
      await node.stop();
    } finally {
      await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
      await sql.end();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

const schemaOf = (topic: string) =>
  ({ "market.ticks": "market.tick", "market.bars": "market.bar", "lab.bars": "market.bar" })[topic];

Deno.test("agentTables: each subscribed topic's table, by default and as configured", () => {
  const topics = ["market.ticks", "market.bars", "market.alerts", "lab.ticks"];
  assert.deepEqual(agentTables({ table: "market_ticks" }, { topics, schemaOf }), [
    { kind: "tick", table: "market_ticks" },
    { kind: "bar", table: "market_bars" },
    { kind: "alert", table: "market_alerts" },
  ]);
  assert.deepEqual(
    agentTables({ table: "t", tables: { "lab.bars": { kind: "bar", table: "lab_bars" } } }, {
      topics: ["lab.bars"],
      schemaOf,
    }),
    [{ kind: "bar", table: "lab_bars" }],
  );
});

Deno.test("agentTables refuses a topic whose schema is not its table's kind, and one table with two kinds", () => {
  assert.throws(
    () => agentTables({ table: "t" }, { topics: ["lab.bars"], schemaOf }),
    /config\.table: topic lab\.bars carries market\.bar records, but table t is of kind tick/,
  );
  assert.throws(
    () =>
      agentTables({ table: "t", tables: { "market.bars": { kind: "tick", table: "b" } } }, {
        topics: ["market.bars"],
        schemaOf,
      }),
    /config\.tables\.market\.bars: topic market\.bars carries market\.bar records/,
  );
  assert.throws(
    () =>
      agentTables({ table: "same", tables: { "market.bars": { kind: "bar", table: "same" } } }, {
        topics: ["market.ticks", "market.bars"],
        schemaOf,
      }),
    /table same would be of kind bar for market\.bars and tick for market\.ticks/,
  );
});

Deno.test({
  ...needs("DATABASE_URL"),
  name:
    "pipeline: a sink subscribed to a bar topic without a bar table fails the start, naming the topic and the fix",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-kind-mismatch-" });
    try {
      const config = testConfig(
        `node: { dataDir: ${dataDir}, deadLetterTopic: t.dlq }
topics:
  lab.bars: { partitions: 1, schema: market.bar }
  t.dlq: { partitions: 1 }
agents:
  pg:
    kind: postgres-sink
    subscribe: { topics: [lab.bars] }
    config: { table: ${uniqueName("never_made").toLowerCase()} }`,
        { DATABASE_URL: services.databaseUrl },
      );
      await assert.rejects(startNode(config), (e: unknown) => {
        assert.ok(e instanceof PipelineStartError, String(e));
        assert.match(e.message, /checking the table of agents\.pg/);
        assert.match(e.message, /topic lab\.bars carries market\.bar records, but table \S+ is of kind tick/);
        assert.match(e.message, /config\.tables/);
        return true;
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
