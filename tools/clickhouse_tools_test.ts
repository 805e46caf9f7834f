import assert from "node:assert/strict";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { needs, uniqueName } from "../tests/service_env.ts";
import { connectTestClient, type TestToolClient } from "./_test_client.ts";
import { clickHouseTools } from "./clickhouse_tools.ts";
import { tableExists } from "./clickhouse_table.ts";
import { configSchema } from "../core/config_schema.ts";
import { openClickHouseQuery } from "../pipeline/query_access.ts";

const env = needs("CLICKHOUSE_URL", "CLICKHOUSE_READ_URL");

async function withTools(fn: (t: TestToolClient, ch: ClickHouseClient, table: string) => Promise<void>) {
  const ch = createClient({ url: Deno.env.get("CLICKHOUSE_URL"), log: { level: ClickHouseLogLevel.OFF } });
  const config = configSchema.parse({
    connections: {
      clickhouse: { url: Deno.env.get("CLICKHOUSE_URL"), readUrl: Deno.env.get("CLICKHOUSE_READ_URL") },
    },
  });
  const query = await openClickHouseQuery(config, ch);
  assert.ok(
    query.access && typeof query.access !== "function",
    `the read user is accepted: ${query.unavailable}`,
  );
  const tools = await connectTestClient(
    clickHouseTools({ client: ch, query: query.access, caps: { maxRows: 50, maxBytes: 4096 } }),
  );
  const table = uniqueName("ticks").toLowerCase();
  try {
    await fn(tools, ch, table);
  } finally {
    await ch.command({ query: `DROP TABLE IF EXISTS \`${table}\`` });
    await tools.close();
    await query.close();
    await ch.close();
  }
}

function ticks(n: number, from = 0) {
  return Array.from({ length: n }, (_, i) => ({
    symbol: `SYM${(from + i) % 7}`,
    source: "synthetic",
    exchange: i % 2 ? "X" : null,
    ts: 1_700_000_000_000 + from + i,
    price: 100 + i / 8,
    bid: 99.5,
    kafka_topic: "market.ticks",
    kafka_partition: 0,
    kafka_offset: String(from + i),
  }));
}

async function countFinal(ch: ClickHouseClient, table: string): Promise<number> {
  const rs = await ch.query({ query: `SELECT count() AS n FROM \`${table}\` FINAL`, format: "JSONEachRow" });
  const [row] = await rs.json<{ n: string }>();
  return Number(row!.n);
}

Deno.test(
  { ...env, name: "clickhouse.ensure_table creates a ReplacingMergeTree once, idempotently" },
  async () => {
    await withTools(async (t, _ch, table) => {
      assert.equal((await t.call("clickhouse.ensure_table", { kind: "tick", table })).created, true);
      assert.equal((await t.call("clickhouse.ensure_table", { kind: "tick", table })).created, false);
      const d = await t.call("clickhouse.describe", { table });
      assert.equal(d.engine, "ReplacingMergeTree");
      assert.match(
        String(d.engineFull),
        /ORDER BY \(symbol, source, ts, kafka_topic, kafka_partition, kafka_offset\)/,
      );
      assert.deepEqual((d.columns as { name: string }[]).map((c) => c.name), [
        "symbol",
        "source",
        "exchange",
        "ts",
        "price",
        "bid",
        "ask",
        "volume",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
      ]);
      const list = await t.call("clickhouse.describe", {});
      assert.ok((list.tables as { table: string }[]).some((x) => x.table === table));
    });
  },
);

Deno.test(
  { ...env, name: "clickhouse.insert_rows: N unique rows give N rows; re-insert keeps N" },
  async () => {
    await withTools(async (t, ch, table) => {
      await t.call("clickhouse.ensure_table", { kind: "tick", table });
      const rows = ticks(3000);
      assert.deepEqual(await t.call("clickhouse.insert_rows", { table, rows }), {
        written: 3000,
        errors: [],
        statements: 1,
      });
      await t.call("clickhouse.insert_rows", { table, rows });
      await t.call("clickhouse.insert_rows", { table, rows: rows.slice(100, 200) });
      assert.equal(await countFinal(ch, table), 3000);
      const q = await t.call("clickhouse.query", {
        sql:
          `SELECT symbol, ts, exchange, ask FROM \`${table}\` FINAL WHERE symbol = 'SYM1' ORDER BY ts LIMIT 1`,
      });
      assert.deepEqual(q.rows, [{ symbol: "SYM1", ts: "1700000000001", exchange: "X", ask: null }]);
    });
  },
);

Deno.test(
  { ...env, name: "clickhouse.insert_rows reports refused rows per row and writes the others" },
  async () => {
    await withTools(async (t, ch, table) => {
      await t.call("clickhouse.ensure_table", { kind: "tick", table });
      const rows: Record<string, unknown>[] = ticks(40);
      rows[5] = { ...rows[5], ts: -1000 }; // UInt64: refused by the database
      rows[30] = { ...rows[30], ts: -1 }; // refused by the database
      rows[12] = { ...rows[12], symbol: 42 }; // refused by validation
      const r = await t.call("clickhouse.insert_rows", { table, rows });
      const errors = r.errors as { index: number; stage: string; error: string }[];
      assert.deepEqual(errors.map((e) => [e.index, e.stage]), [[5, "database"], [12, "validate"], [
        30,
        "database",
      ]]);
      assert.match(errors[0]!.error, /^72: /);
      assert.equal(r.written, 37);
      assert.equal(await countFinal(ch, table), 37);
    });
  },
);

Deno.test(
  { ...env, name: "clickhouse.query is read-only in the database, capped, and the table survives" },
  async () => {
    await withTools(async (t, ch, table) => {
      await t.call("clickhouse.ensure_table", { kind: "tick", table });
      await t.call("clickhouse.insert_rows", { table, rows: ticks(120) });
      const attempts: [string, RegExp][] = [
        [`DROP TABLE \`${table}\``, /readonly/i],
        [`SELECT 1; DROP TABLE \`${table}\``, /Multi-statements are not allowed/],
        [`INSERT INTO \`${table}\` SELECT * FROM \`${table}\``, /readonly/i],
        [`ALTER TABLE \`${table}\` DELETE WHERE 1`, /readonly/i],
        [`TRUNCATE TABLE \`${table}\``, /readonly/i],
        [`CREATE TABLE \`${table}_x\` (a UInt8) ENGINE = Memory`, /readonly/i],
        [`SELECT * FROM \`${table}\` SETTINGS readonly = 0`, /readonly/i],
      ];
      for (const [sql, expected] of attempts) {
        const r = await t.raw("clickhouse.query", { sql });
        assert.equal(r.isError, true, `should fail: ${sql}`);
        const text = (r.content[0] as { text: string }).text;
        assert.match(text, expected, text);
      }
      assert.ok(await tableExists(ch, table));
      assert.equal(await countFinal(ch, table), 120);

      const capped = await t.call("clickhouse.query", {
        sql: `SELECT symbol, ts FROM \`${table}\` ORDER BY ts`,
      });
      assert.equal(capped.rowCount, 50);
      assert.equal(capped.truncated, true);
      assert.equal(capped.truncatedBy, "rows");
      const wide = await t.call("clickhouse.query", {
        sql: "SELECT arrayStringConcat(arrayMap(x -> 'x', range(1000))) AS s FROM system.numbers LIMIT 20",
      });
      assert.equal(wide.truncatedBy, "bytes");
      assert.ok((wide.bytes as number) <= 4096);
      const small = await t.call("clickhouse.query", { sql: `SELECT count() AS n FROM \`${table}\`` });
      assert.deepEqual(small.rows, [{ n: "120" }]);
      assert.equal(small.truncated, false);
    });
  },
);
