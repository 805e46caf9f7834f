import assert from "node:assert/strict";
import postgres from "postgres";
import { needs, uniqueName } from "../tests/service_env.ts";
import { connectTestClient, type TestToolClient } from "./_test_client.ts";
import { TEST_READER_ROLE, testReaderPool } from "./_test_reader_pool.ts";
import { tableKind } from "./table_kinds/mod.ts";
import { postgresTools } from "./postgres_tools.ts";

const env = needs("DATABASE_URL");

async function withTools(fn: (t: TestToolClient, sql: postgres.Sql, table: string) => Promise<void>) {
  const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {}, max: 4 });
  const query = await testReaderPool(sql, { statementTimeoutMs: 500 });
  const tools = await connectTestClient(
    postgresTools({ sql, query, readerRole: TEST_READER_ROLE, caps: { maxRows: 50, maxBytes: 4096 } }),
  );
  const table = uniqueName("ticks").toLowerCase();
  try {
    await fn(tools, sql, table);
  } finally {
    await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
    await tools.close();
    await query.close();
    await sql.end();
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
    ask: null,
    kafka_topic: "market.ticks",
    kafka_partition: 0,
    kafka_offset: String(from + i),
  }));
}

async function tableExists(sql: postgres.Sql, table: string): Promise<boolean> {
  const [r] = await sql`SELECT to_regclass(${`"${table}"`}) IS NOT NULL AS e`;
  return r!.e as boolean;
}

Deno.test({ ...env, name: "postgres.ensure_table creates the tick table once, idempotently" }, async () => {
  await withTools(async (t, sql, table) => {
    const first = await t.call("postgres.ensure_table", { kind: "tick", table });
    assert.equal(first.created, true);
    const second = await t.call("postgres.ensure_table", { kind: "tick", table });
    assert.equal(second.created, false);
    const d = await t.call("postgres.describe", { table });
    assert.deepEqual(d.primaryKey, [...tableKind("tick").key], "keyed on the record's provenance");
    const types = Object.fromEntries(
      (d.columns as { name: string; type: string }[]).map((c) => [c.name, c.type]),
    );
    assert.equal(types.ts, "timestamp with time zone");
    if (!first.hypertable) {
      const [idx] =
        await sql`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = ${table} AND indexdef LIKE '%(ts)%'`;
      assert.equal(idx!.n, 1, "plain table has an index on ts");
    }
    // concurrent callers do not trip over each other
    const all = await Promise.all(
      [1, 2, 3].map(() => t.call("postgres.ensure_table", { kind: "tick", table })),
    );
    assert.ok(all.every((r) => r.created === false));
  });
});

Deno.test(
  { ...env, name: "postgres.insert_rows: N unique rows give N rows; re-insert keeps N" },
  async () => {
    await withTools(async (t, sql, table) => {
      await t.call("postgres.ensure_table", { kind: "tick", table });
      const rows = ticks(2000);
      const first = await t.call("postgres.insert_rows", { table, rows });
      assert.deepEqual(first, { inserted: 2000, duplicates: 0, errors: [], statements: 1 });
      const again = await t.call("postgres.insert_rows", {
        table,
        rows: [...rows.slice(0, 500), ...ticks(10, 5000)],
      });
      assert.equal(again.inserted, 10);
      assert.equal(again.duplicates, 500);
      const [c] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
      assert.equal(c!.n, 2010);
      const [one] = await sql.unsafe(
        `SELECT ts, exchange, ask FROM "${table}" WHERE symbol = 'SYM1' ORDER BY ts LIMIT 1`,
      );
      assert.equal((one!.ts as Date).getTime(), 1_700_000_000_001);
      assert.equal(one!.exchange, "X");
      assert.equal(one!.ask, null);
    });
  },
);

Deno.test(
  { ...env, name: "postgres.insert_rows reports refused rows per row and writes the others" },
  async () => {
    await withTools(async (t, sql, table) => {
      await t.call("postgres.ensure_table", { kind: "tick", table });
      const rows: Record<string, unknown>[] = ticks(40);
      rows[3] = { ...rows[3], ts: -1000 }; // CHECK (ts >= 'epoch'): refused by the database
      rows[17] = { ...rows[17], symbol: "BAD\u0000NUL" }; // PostgreSQL text cannot hold NUL: refused by the database
      rows[25] = { ...rows[25], price: undefined }; // refused by validation
      const r = await t.call("postgres.insert_rows", { table, rows });
      assert.equal(r.inserted, 37);
      const errors = r.errors as { index: number; stage: string; error: string }[];
      assert.deepEqual(errors.map((e) => [e.index, e.stage]), [[3, "database"], [17, "database"], [
        25,
        "validate",
      ]]);
      assert.match(errors[0]!.error, /^23514/);
      assert.match(errors[1]!.error, /^22/);
      const [c] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
      assert.equal(c!.n, 37);
    });
  },
);

Deno.test(
  { ...env, name: "postgres.query is read-only in the database, capped, and the table survives" },
  async () => {
    await withTools(async (t, sql, table) => {
      await t.call("postgres.ensure_table", { kind: "tick", table });
      await t.call("postgres.insert_rows", { table, rows: ticks(120) });
      const attempts = [
        `DROP TABLE "${table}"`,
        `DELETE FROM "${table}"`,
        `SELECT 1; DROP TABLE "${table}"`,
        `COMMIT; DROP TABLE "${table}"`,
        `WITH d AS (DELETE FROM "${table}" RETURNING *) SELECT * FROM d`,
        `INSERT INTO "${table}" (symbol, source, ts, price) VALUES ('x', 'y', now(), 1)`,
        `SET TRANSACTION READ WRITE`,
      ];
      for (const attempt of attempts) {
        const r = await t.raw("postgres.query", { sql: attempt });
        assert.equal(r.isError, true, `should fail: ${attempt}`);
        const text = (r.content[0] as { text: string }).text;
        assert.match(text, /read-only transaction|multiple commands|read-write mode/, text);
      }
      assert.ok(await tableExists(sql, table));
      const [c] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
      assert.equal(c!.n, 120);

      const capped = await t.call("postgres.query", { sql: `SELECT symbol, ts FROM "${table}" ORDER BY ts` });
      assert.equal(capped.rowCount, 50);
      assert.equal(capped.truncated, true);
      assert.equal(capped.truncatedBy, "rows");
      const wide = await t.call("postgres.query", {
        sql: "SELECT repeat('x', 1000) AS s FROM generate_series(1, 20)",
      });
      assert.equal(wide.truncatedBy, "bytes");
      assert.ok((wide.bytes as number) <= 4096);
      const params = await t.call("postgres.query", {
        sql: `SELECT count(*)::int AS n, min(ts) AS first FROM "${table}" WHERE symbol = $1`,
        params: ["SYM0"],
      });
      assert.deepEqual(params.rows, [{ n: 18, first: new Date(1_700_000_000_000).toISOString() }]);
      assert.equal(params.truncated, false);
      const slow = await t.raw("postgres.query", { sql: "SELECT pg_sleep(10)" });
      assert.equal(slow.isError, true);
      assert.match((slow.content[0] as { text: string }).text, /statement timeout/);
    });
  },
);
