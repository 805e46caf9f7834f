import assert from "node:assert/strict";
import { createClient } from "@clickhouse/client";
import postgres from "postgres";
import { EmbeddedConnector } from "../../connector/embedded/mod.ts";
import { needs, services, uniqueName } from "../../tests/service_env.ts";
import { clickHouseTools } from "../../tools/clickhouse_tools.ts";
import { postgresTools } from "../../tools/postgres_tools.ts";
import { type TableLayoutError, tableLayoutErrorOf } from "../../tools/table_layout_error.ts";
import type { AnyToolDefinition } from "../../tools/tool_definition.ts";
import { clickhouseDatabase, postgresDatabase } from "./_sink_test_helpers.ts";
import { distinctTicksKept } from "./_tick_sink_scenarios.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** The tick table as releases before the provenance key created it (kept here verbatim to test the migration). */
const OLD_POSTGRES_DDL = (t: string) =>
  `CREATE TABLE "${t}" (symbol text NOT NULL, source text NOT NULL, exchange text,
   ts timestamptz NOT NULL CHECK (ts >= 'epoch'), price double precision NOT NULL, bid double precision,
   ask double precision, volume double precision, PRIMARY KEY (symbol, source, ts))`;
const OLD_CLICKHOUSE_DDL = (t: string) =>
  `CREATE TABLE \`${t}\` (symbol String, source String, exchange Nullable(String), ts UInt64, price Float64,
   bid Nullable(Float64), ask Nullable(Float64), volume Nullable(Float64)) ENGINE = ReplacingMergeTree()
   PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000))) ORDER BY (symbol, source, ts)`;

const call = (tools: AnyToolDefinition[], name: string, args: Record<string, unknown>) => {
  const tool = tools.find((t) => t.name === name)!;
  return tool.handler(tool.inputSchema.parse(args), { caller: "test", signal: new AbortController().signal });
};

/** Two ticks in the same second of the same symbol and source: distinct events. */
const sameSecond = (offset: number) => ({
  symbol: "BTC-USD",
  source: "twelvedata",
  exchange: offset % 2 ? "Coinbase" : "Kraken",
  ts: 1_700_000_000_000,
  price: 100 + offset,
  kafka_topic: "market.ticks",
  kafka_partition: 0,
  kafka_offset: String(offset),
});

Deno.test({
  ...opts,
  ...needs("DATABASE_URL", "CLICKHOUSE_URL"),
  name:
    "tick sinks: distinct ticks sharing (symbol, source, ts) are all kept, the same rows in PostgreSQL and " +
    "ClickHouse",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "qistream-same-second-" });
    const connector = new EmbeddedConnector({ dataDir: dir, fsync: false, maxBatchRecords: 200 });
    await connector.connect();
    const pg = postgresDatabase(services.databaseUrl!);
    const ch = clickhouseDatabase(services.clickhouseUrl!);
    try {
      await distinctTicksKept(connector, [pg, ch], { dir });
    } finally {
      await pg.close();
      await ch.close();
      await connector.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  ...needs("DATABASE_URL"),
  name: "postgres.ensure_table refuses a tick table of the old layout with the statements that migrate it; " +
    "after them, old rows stay and same-second ticks are all written",
  async fn() {
    const sql = postgres(services.databaseUrl!, { max: 2, onnotice: () => {} });
    const tools = postgresTools({ sql });
    const table = uniqueName("old_pg").toLowerCase();
    try {
      await sql.unsafe(OLD_POSTGRES_DDL(table));
      await sql.unsafe(
        `INSERT INTO "${table}" (symbol, source, ts, price) VALUES ('ETH-USD', 'cryptocompare', 'epoch', 1),
         ('ETH-USD', 'cryptocompare', 'epoch'::timestamptz + interval '1 second', 2)`,
      );
      let refusal: TableLayoutError | undefined;
      await assert.rejects(call(tools, "postgres.ensure_table", { kind: "tick", table }), (e: unknown) => {
        refusal = tableLayoutErrorOf(e);
        assert.ok(refusal, `a TableLayoutError, got ${e}`);
        return true;
      });
      assert.match(refusal!.message, new RegExp(`postgres table "${table}": it has an older layout`));
      assert.match(refusal!.message, /no column kafka_offset/);
      assert.match(refusal!.message, /primary key \(symbol, source, ts\)/);
      assert.match(refusal!.message, /ALTER TABLE/);
      const [cols] =
        await sql`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = ${table}`;
      assert.equal(cols!.n, 8, "the refusal changed nothing");

      for (const statement of refusal!.migration) await sql.unsafe(statement);
      await call(tools, "postgres.ensure_table", { kind: "tick", table });
      const written = await call(tools, "postgres.insert_rows", {
        table,
        rows: [sameSecond(1), sameSecond(2), sameSecond(3), sameSecond(2)],
      });
      assert.deepEqual([written.inserted, written.duplicates], [3, 1], "3 distinct ticks, 1 re-delivery");
      const [n] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
      assert.equal(n!.n, 2 + 3, "the 2 migrated rows and the 3 new ones");
    } finally {
      await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
      await sql.end();
    }
  },
});

Deno.test({
  ...opts,
  ...needs("CLICKHOUSE_URL"),
  name:
    "clickhouse.ensure_table refuses a tick table of the old layout with the statements that migrate it; " +
    "after them, old rows stay and same-second ticks are all written",
  async fn() {
    const client = createClient({ url: services.clickhouseUrl! });
    const tools = clickHouseTools({ client });
    const table = uniqueName("old_ch").toLowerCase();
    const scalar = async (query: string) => {
      const [r] = await (await client.query({ query, format: "JSONEachRow" })).json<{ n: string }>();
      return Number(r!.n);
    };
    try {
      await client.command({ query: OLD_CLICKHOUSE_DDL(table) });
      await client.insert({
        table,
        format: "JSONEachRow",
        values: [
          { symbol: "ETH-USD", source: "cryptocompare", ts: 0, price: 1 },
          { symbol: "ETH-USD", source: "cryptocompare", ts: 1000, price: 2 },
        ],
      });
      let refusal: TableLayoutError | undefined;
      await assert.rejects(call(tools, "clickhouse.ensure_table", { kind: "tick", table }), (e: unknown) => {
        refusal = tableLayoutErrorOf(e);
        assert.ok(refusal, `a TableLayoutError, got ${e}`);
        return true;
      });
      assert.match(refusal!.message, new RegExp(`clickhouse table "${table}": it has an older layout`));
      assert.match(refusal!.message, /no column kafka_offset/);
      assert.match(refusal!.message, /ORDER BY \(symbol, source, ts\)/);
      assert.match(refusal!.message, /RENAME TABLE/);

      for (const query of refusal!.migration) await client.command({ query });
      await call(tools, "clickhouse.ensure_table", { kind: "tick", table });
      await call(tools, "clickhouse.insert_rows", {
        table,
        rows: [sameSecond(1), sameSecond(2), sameSecond(3), sameSecond(2)],
      });
      assert.equal(
        await scalar(`SELECT count() AS n FROM \`${table}\` FINAL`),
        2 + 3,
        "the 2 migrated rows and the 3 distinct new ones (the re-delivery collapses)",
      );
      assert.equal(await scalar(`SELECT count() AS n FROM \`${table}_old\``), 2, "the old table is kept");
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS \`${table}\`` });
      await client.command({ query: `DROP TABLE IF EXISTS \`${table}_old\`` });
      await client.command({ query: `DROP TABLE IF EXISTS \`${table}_new\`` });
      await client.close();
    }
  },
});
