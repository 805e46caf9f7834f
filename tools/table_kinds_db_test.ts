/**
 * The bar, alert and insight table kinds on the real databases, through the MCP tools as the sinks and an
 * operator call them: ensure is idempotent, a re-delivered record is never written twice, a later record with
 * the same natural key replaces the row and an older one does not, and the read-only query tools read the
 * tables (the reader role was granted SELECT on them).
 */
import assert from "node:assert/strict";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import postgres from "postgres";
import { configSchema } from "../core/config_schema.ts";
import { openClickHouseQuery } from "../pipeline/query_access.ts";
import { needs, uniqueName } from "../tests/service_env.ts";
import { connectTestClient, type TestToolClient } from "./_test_client.ts";
import { TEST_READER_ROLE, testReaderPool } from "./_test_reader_pool.ts";
import { clickHouseTools } from "./clickhouse_tools.ts";
import { postgresTools } from "./postgres_tools.ts";
import type { TableKindName } from "./table_kinds/mod.ts";

const from = (offset: number) => ({
  kafka_topic: "market.x",
  kafka_partition: 2,
  kafka_offset: String(offset),
});

/** For each kind: a row of key A, a row of key B, and a later record of key A with `changed` set. */
const SAMPLES: Record<Exclude<TableKindName, "tick">, {
  a: Record<string, unknown>;
  b: Record<string, unknown>;
  changed: [string, unknown];
  /** A query (`$T` the table) that reads the kind's special columns, and what it returns for row A. */
  probe: { postgres: string; clickhouse: string; expect: unknown };
}> = {
  bar: {
    a: {
      symbol: "BTC-USD",
      source: "synthetic",
      exchange: null,
      interval: "1m",
      ts: 1_700_000_040_000,
      open: 1,
      high: 3,
      low: 0.5,
      close: 2,
      volume: 10,
      trades: null,
    },
    b: {
      symbol: "BTC-USD",
      source: "synthetic",
      interval: "5m",
      ts: 1_700_000_040_000,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      volume: 0,
    },
    changed: ["close", 2.5],
    probe: {
      postgres:
        "SELECT bar_interval, extract(epoch FROM ts)::int8::text AS s FROM $T WHERE bar_interval = '1m'",
      clickhouse: "SELECT bar_interval, intDiv(ts, 1000) AS s FROM $T FINAL WHERE bar_interval = '1m'",
      expect: { bar_interval: "1m", s: "1700000040" },
    },
  },
  alert: {
    a: {
      id: "price_jump:BTC-USD:1",
      ts: 1_700_000_000_000,
      symbol: "BTC-USD",
      source: "market-monitor",
      rule: "price_jump",
      severity: "WARNING",
      message: "BTC-USD moved 9 MADs",
      value: 9.1,
      threshold: 6,
      attributes: { state: "open", detector: "price_jump" },
    },
    b: { id: "stale:AAPL:1", ts: 1_700_000_000_000, source: "m", rule: "stale_feed", message: "no ticks" },
    changed: ["attributes", { state: "resolved", detector: "price_jump" }],
    probe: {
      postgres: `SELECT severity, attributes->>'state' AS state FROM $T WHERE id = 'price_jump:BTC-USD:1'`,
      clickhouse:
        "SELECT severity, visitParamExtractString(attributes, 'state') AS state FROM $T FINAL WHERE id = 'price_jump:BTC-USD:1'",
      expect: { severity: "WARNING", state: "resolved" },
    },
  },
  insight: {
    a: {
      id: "i-1",
      ts: 1_700_000_000_000,
      symbols: ["BTC-USD", "ETH-USD"],
      source: "analyst",
      alertId: "price_jump:BTC-USD:1",
      title: "A jump",
      summary: "s",
      confidence: 0.7,
      model: "m",
    },
    b: { id: "i-2", ts: 1_700_000_000_001, source: "analyst", title: "t", summary: "s" },
    changed: ["summary", "revised"],
    probe: {
      postgres: "SELECT symbols[2] AS second, alert_id FROM $T WHERE id = 'i-1'",
      clickhouse: "SELECT symbols[2] AS second, alert_id FROM $T FINAL WHERE id = 'i-1'",
      expect: { second: "ETH-USD", alert_id: "price_jump:BTC-USD:1" },
    },
  },
};

/** The writes every kind must take the same way in both databases. */
async function writeScenario(
  t: TestToolClient,
  db: "postgres" | "clickhouse",
  kind: keyof typeof SAMPLES,
  table: string,
) {
  const s = SAMPLES[kind];
  const first = await t.call(`${db}.ensure_table`, { kind, table });
  assert.equal(first.created, true, `${kind}: created`);
  assert.equal(
    (await t.call(`${db}.ensure_table`, { kind, table })).created,
    false,
    `${kind}: ensured again`,
  );
  const insert = (rows: unknown[]) => t.call(`${db}.insert_rows`, { kind, table, rows });
  const a = { ...s.a, ...from(10) };
  const later = { ...s.a, [s.changed[0]]: s.changed[1], ...from(12) };
  const r1 = await insert([a, { ...s.b, ...from(11) }, a]);
  assert.deepEqual(r1.errors, [], `${kind}: rows accepted`);
  if (db === "postgres") {
    assert.deepEqual([r1.inserted, r1.duplicates], [2, 1], `${kind}: a re-delivery is a duplicate`);
  }
  const r2 = await insert([later]);
  if (db === "postgres") {
    assert.deepEqual([r2.inserted, r2.duplicates], [1, 0], `${kind}: the later record replaces`);
  }
  const r3 = await insert([a]);
  if (db === "postgres") {
    assert.deepEqual([r3.inserted, r3.duplicates], [0, 1], `${kind}: the older record does not`);
  }
  const bad = await insert([{ ...s.a, ts: "yesterday", ...from(13) }]);
  assert.equal(
    (bad.errors as { index: number; stage: string }[])[0]?.stage,
    "validate",
    `${kind}: bad row refused`,
  );
}

Deno.test({
  ...needs("DATABASE_URL"),
  name:
    "postgres: bar, alert and insight tables are idempotent on their key, newest record wins, readable by the reader",
  async fn() {
    const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {}, max: 4 });
    const query = await testReaderPool(sql, { statementTimeoutMs: 2000 });
    const t = await connectTestClient(postgresTools({ sql, query, readerRole: TEST_READER_ROLE }));
    const tables: string[] = [];
    try {
      for (const kind of Object.keys(SAMPLES) as (keyof typeof SAMPLES)[]) {
        const table = uniqueName(`kind_${kind}`).toLowerCase();
        tables.push(table);
        await writeScenario(t, "postgres", kind, table);
        const [n] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
        assert.equal(n!.n, 2, `${kind}: one row per key`);
        const [changed] = await sql.unsafe(`SELECT * FROM "${table}" WHERE kafka_offset = 12`);
        assert.deepEqual(
          changed?.[SAMPLES[kind].changed[0]],
          SAMPLES[kind].changed[1],
          `${kind}: newest wins`,
        );
        const read = await t.call("postgres.query", {
          sql: SAMPLES[kind].probe.postgres.replace("$T", `"${table}"`),
        });
        assert.deepEqual(read.rows, [SAMPLES[kind].probe.expect], `${kind}: the reader reads it`);
        const described = await t.call("postgres.describe", { table });
        assert.ok((described.primaryKey as string[]).length > 0, `${kind}: described with its key`);
      }
    } finally {
      for (const table of tables) await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
      await t.close();
      await query.close();
      await sql.end();
    }
  },
});

Deno.test({
  ...needs("CLICKHOUSE_URL", "CLICKHOUSE_READ_URL"),
  name:
    "clickhouse: bar, alert and insight tables collapse on their key with the newest record's row, readable by the reader",
  async fn() {
    const ch = createClient({ url: Deno.env.get("CLICKHOUSE_URL"), log: { level: ClickHouseLogLevel.OFF } });
    const config = configSchema.parse({
      connections: {
        clickhouse: { url: Deno.env.get("CLICKHOUSE_URL"), readUrl: Deno.env.get("CLICKHOUSE_READ_URL") },
      },
    });
    const query = await openClickHouseQuery(config, ch);
    assert.ok(query.access && typeof query.access !== "function", `read user: ${query.unavailable}`);
    const t = await connectTestClient(clickHouseTools({ client: ch, query: query.access }));
    const tables: string[] = [];
    try {
      for (const kind of Object.keys(SAMPLES) as (keyof typeof SAMPLES)[]) {
        const table = uniqueName(`kind_${kind}`).toLowerCase();
        tables.push(table);
        await writeScenario(t, "clickhouse", kind, table);
        const rows = async (
          q: string,
        ) => (await (await ch.query({ query: q, format: "JSONEachRow" })).json<Record<string, unknown>>());
        const final = await rows(`SELECT * FROM \`${table}\` FINAL`);
        assert.equal(final.length, 2, `${kind}: one row per key with FINAL`);
        const newest = final.find((r) => r.kafka_offset === "12");
        assert.ok(newest, `${kind}: the newest record's row stays (${JSON.stringify(final)})`);
        const read = await t.call("clickhouse.query", {
          sql: SAMPLES[kind].probe.clickhouse.replace("$T", `\`${table}\``),
        });
        assert.deepEqual(
          (read.rows as Record<string, unknown>[]).map((r: Record<string, unknown>) =>
            Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))
          ),
          [Object.fromEntries(
            Object.entries(SAMPLES[kind].probe.expect as object).map(([k, v]) => [k, String(v)]),
          )],
          `${kind}: the reader reads it`,
        );
      }
    } finally {
      for (const table of tables) await ch.command({ query: `DROP TABLE IF EXISTS \`${table}\`` });
      await t.close();
      await query.close();
      await ch.close();
    }
  },
});
