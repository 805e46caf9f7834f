import assert from "node:assert/strict";
import postgres from "postgres";
import { connectTestClient } from "./_test_client.ts";
import { EMBEDDED_CLIENT_OPTIONS, startEmbeddedPostgres } from "./embedded_postgres.ts";
import { PostgresQueryPool } from "./postgres_query_pool.ts";
import { prepareEmbeddedSandbox } from "./postgres_reader_role.ts";
import { postgresTools } from "./postgres_tools.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function ticks(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    symbol: `SYM${i % 5}`,
    source: "synthetic",
    exchange: i % 2 ? "X" : null,
    ts: 1_700_000_000_000 + i,
    price: 100 + i / 8,
    bid: 99.5,
    ask: null,
    volume: i,
    kafka_topic: "market.ticks",
    kafka_partition: 0,
    kafka_offset: String(i),
  }));
}

/** Opens a server and one client over it, runs `fn` against the postgres tools, then closes both. */
async function session<T>(
  dataDir: string,
  fn: (
    call: (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>,
    sql: postgres.Sql,
  ) => Promise<T>,
): Promise<T> {
  const pg = await startEmbeddedPostgres({ dataDir });
  const sql = postgres(pg.url, { ...EMBEDDED_CLIENT_OPTIONS, onnotice: () => {} });
  await prepareEmbeddedSandbox(sql, "qistream_reader");
  const query = new PostgresQueryPool({
    sql,
    describe: "embedded",
    role: "qistream_reader",
    ownsClient: false,
  });
  const tools = await connectTestClient(postgresTools({ sql, query, readerRole: "qistream_reader" }));
  try {
    return await fn((name, args) => tools.call(name, args), sql);
  } finally {
    await tools.close();
    await sql.end();
    await pg.stop();
  }
}

Deno.test({
  ...opts,
  name: "embedded postgres: the postgres tools create and fill a table that survives a restart",
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-pglite-" });
    try {
      const rows = ticks(2000);
      await session(dataDir, async (call) => {
        const ensured = await call("postgres.ensure_table", { kind: "tick", table: "market_ticks" });
        assert.equal(ensured.created, true);
        assert.equal(ensured.hypertable, false, "PGlite has no timescaledb: a plain table");
        const first = await call("postgres.insert_rows", { kind: "tick", table: "market_ticks", rows });
        assert.deepEqual(first, { inserted: 2000, duplicates: 0, errors: [], statements: 1 });
        // The database itself refuses a negative ts (CHECK constraint); its batch-mates are written.
        const again = await call("postgres.insert_rows", {
          table: "market_ticks",
          rows: [...rows.slice(0, 10), { ...rows[0]!, ts: -5 }],
        });
        assert.equal(again.inserted, 0);
        assert.equal(again.duplicates, 10);
        const errors = again.errors as { index: number; stage: string; error: string }[];
        assert.equal(errors.length, 1);
        assert.equal(errors[0]!.index, 10);
        assert.equal(errors[0]!.stage, "database");
        assert.match(errors[0]!.error, /^23514: .*check constraint/);
      });
      await session(dataDir, async (call, sql) => {
        const ensured = await call("postgres.ensure_table", { kind: "tick", table: "market_ticks" });
        assert.equal(ensured.created, false, "the table is still there after a restart");
        const [{ n, max }] =
          await sql`SELECT count(*)::int AS n, max(volume) AS max FROM market_ticks` as never as [
            { n: number; max: number },
          ];
        assert.equal(n, 2000);
        assert.equal(max, 1999);
        const q = await call("postgres.query", {
          sql: "SELECT symbol, count(*)::int AS n FROM market_ticks GROUP BY symbol ORDER BY symbol",
        });
        assert.deepEqual(
          q.rows,
          ["SYM0", "SYM1", "SYM2", "SYM3", "SYM4"].map((symbol) => ({ symbol, n: 400 })),
        );
        // Read-only in the database, also here, and as the reader role, not the embedded superuser.
        await assert.rejects(
          () => call("postgres.query", { sql: "DELETE FROM market_ticks" }),
          /read-only transaction/,
        );
        const who = await call("postgres.query", { sql: "SELECT current_user AS u" });
        assert.deepEqual(who.rows, [{ u: "qistream_reader" }]);
        for (
          const attempt of [
            "SELECT pg_read_file('/etc/hostname')",
            "COPY (SELECT 1) TO PROGRAM 'true'",
            "SELECT set_config('role', 'postgres', true), pg_read_file('/etc/hostname')",
            "SELECT pg_sleep(30)",
            "DO $$ BEGIN RESET ROLE; END $$",
          ]
        ) {
          await assert.rejects(
            () => call("postgres.query", { sql: attempt }),
            /permission denied|read-only/,
            attempt,
          );
        }
        // The writer's own statements still work after the query tools' DISCARD ALL on the shared session.
        const after = await call("postgres.insert_rows", { table: "market_ticks", rows: rows.slice(0, 1) });
        assert.equal(after.duplicates, 1);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "embedded postgres: a given port is used; bad arguments are refused with built-in errors",
  async fn() {
    await assert.rejects(() => startEmbeddedPostgres({ dataDir: "" }), TypeError);
    await assert.rejects(() => startEmbeddedPostgres({ dataDir: "/tmp/x", port: 70000 }), RangeError);
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-pglite-" });
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const pg = await startEmbeddedPostgres({ dataDir, port });
    try {
      assert.equal(pg.url, `postgres://postgres@127.0.0.1:${port}/postgres`);
      assert.equal(pg.path, `${dataDir}/pglite`);
      const sql = postgres(pg.url, { ...EMBEDDED_CLIENT_OPTIONS, onnotice: () => {} });
      const [r] = await sql`SELECT 1 + 1 AS two`;
      assert.equal(r!.two, 2);
      await sql.end();
    } finally {
      await pg.stop();
      await pg.stop(); // idempotent
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
