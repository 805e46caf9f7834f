/**
 * Bars, alerts and insights stored as shipped: the repository's unchanged `pipeline.yaml`, first on the embedded
 * defaults (no services: the bar builder's bars reach embedded PostgreSQL within a minute, readable through
 * `/mcp`), then on the real services, where alert and insight records published to `market.alerts` and
 * `market.insights` (Avro, the schema the node registered) reach PostgreSQL and ClickHouse, an alert's later
 * state replacing its first.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "@clickhouse/client";
import postgres from "postgres";
import { AvroSerde } from "../../connector/avro/mod.ts";
import { KafkaConnector } from "../../connector/kafka/kafka_connector.ts";
import { openSchemaRegistry } from "../../connector/registry/mod.ts";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { needs, services } from "../service_env.ts";
import { callTool, runId, spawnStart, untilBanner, waitFor } from "./_pipeline_harness.ts";

Deno.test({
  name:
    "start on the embedded defaults: the bar builder's bars are in PostgreSQL within a minute, one row per bar",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-bars-" });
    const node = spawnStart([], { QISTREAM_DATA_DIR: dataDir, QISTREAM_HTTP_PORT: "0" });
    try {
      const url = await untilBanner(node, "the start banner", 90_000);
      const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
      const query = async (sql: string) =>
        (await callTool(url, token, "postgres.query", { sql })).rows as Record<
          string,
          unknown
        >[];
      const up = Date.now();
      await waitFor("1 s bars of every synthetic symbol in market_bars", async () => {
        const rows = await query(
          "SELECT count(DISTINCT symbol)::int AS symbols, count(*)::int AS bars FROM market_bars " +
            "WHERE bar_interval = '1s'",
        );
        return { done: (rows[0]?.symbols as number) >= 5, seen: rows };
      }, 60_000);
      assert.ok(Date.now() - up < 60_000);
      const [check] = await query(
        `SELECT count(*)::int AS bars,
                count(DISTINCT (symbol, source, bar_interval, ts))::int AS keys,
                count(*) FILTER (WHERE NOT (low <= least(open, close) AND high >= greatest(open, close)))::int AS bad
         FROM market_bars`,
      );
      assert.equal(check!.bars, check!.keys, "one row per bar");
      assert.equal(check!.bad, 0, "every bar's low <= open, close <= high");
      // The alert and insight tables exist from the start (ensured before the sinks started), readable too.
      for (const table of ["market_alerts", "market_insights"]) {
        const d = await callTool(url, token, "postgres.describe", { table });
        assert.deepEqual(d.primaryKey, ["id"], table);
      }
    } finally {
      await node.kill();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL", "CLICKHOUSE_URL"),
  name: "shipped pipeline.yaml on the real services: published alerts and insights, and the bars, are in " +
    "PostgreSQL and ClickHouse; an alert's later state replaces its first",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-kinds-" });
    const node = spawnStart([], {
      KAFKA_BROKERS: services.kafkaBrokers!.join(","),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl!,
      DATABASE_URL: services.databaseUrl!,
      CLICKHOUSE_URL: services.clickhouseUrl!,
      QISTREAM_HTTP_PORT: "0",
      QISTREAM_DATA_DIR: dataDir,
    });
    const sql = postgres(services.databaseUrl!, { max: 1, onnotice: () => {} });
    const ch = createClient({ url: services.clickhouseUrl });
    const kafka = new KafkaConnector({ brokers: services.kafkaBrokers! });
    try {
      await untilBanner(node, "the start banner", 120_000);
      const serde = new AvroSerde({
        registry: openSchemaRegistry({ url: services.schemaRegistryUrl! }, dataDir),
      });
      const id = `e2e-${runId()}`;
      const now = Date.now();
      const alert = (state: string) => ({
        id,
        ts: now,
        symbol: "BTC-USD",
        source: "e2e",
        rule: "price_jump",
        severity: "CRITICAL",
        message: `jump (${state})`,
        value: 9.5,
        threshold: 6,
        attributes: { state },
      });
      const insight = {
        id,
        ts: now,
        symbols: ["BTC-USD"],
        source: "e2e",
        alertId: id,
        title: "Why BTC jumped",
        summary: "A test insight",
        confidence: null,
        model: null,
      };
      await kafka.connect();
      const key = "BTC-USD";
      await kafka.publish("market.alerts", [{
        key,
        value: await serde.encode("market.alerts", alert("open")),
      }]);
      await kafka.publish("market.alerts", [{
        key,
        value: await serde.encode("market.alerts", alert("resolved")),
      }]);
      await kafka.publish("market.insights", [{
        key,
        value: await serde.encode("market.insights", insight),
      }]);

      const chRows = async (q: string) =>
        await (await ch.query({ query: q, format: "JSONEachRow" })).json<Record<string, unknown>>();
      await waitFor("the alert (resolved), the insight and bars in both databases", async () => {
        const pgAlert =
          await sql`SELECT message, attributes->>'state' AS state FROM market_alerts WHERE id = ${id}`;
        const pgInsight = await sql`SELECT alert_id, symbols FROM market_insights WHERE id = ${id}`;
        const [pgBars] = await sql`SELECT count(*)::int AS n FROM market_bars WHERE ts >= to_timestamp(${
          now / 1000 - 60
        })`;
        // ClickHouse 18.16 has no query parameters; the id is [a-z0-9-], made above.
        const chAlert = await chRows(`SELECT message FROM market_alerts FINAL WHERE id = '${id}'`);
        const chInsight = await chRows(`SELECT alert_id FROM market_insights FINAL WHERE id = '${id}'`);
        const [chBars] = await chRows(`SELECT count() AS n FROM market_bars WHERE ts >= ${now - 60_000}`);
        const seen = { pgAlert, pgInsight, pgBars, chAlert, chInsight, chBars };
        const done = pgAlert.length === 1 && pgAlert[0]!.state === "resolved" &&
          pgInsight[0]?.alert_id === id &&
          (pgBars?.n as number) > 0 && chAlert.length === 1 && chAlert[0]!.message === "jump (resolved)" &&
          chInsight[0]?.alert_id === id && Number(chBars?.n) > 0;
        return { done, seen };
      }, 120_000);
      const [pgInsight] = await sql`SELECT symbols FROM market_insights WHERE id = ${id}`;
      assert.deepEqual(pgInsight!.symbols, ["BTC-USD"]);
    } finally {
      await node.kill();
      await kafka.close().catch(() => {});
      await sql.end();
      await ch.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
