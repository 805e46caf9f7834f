import assert from "node:assert/strict";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import postgres from "postgres";
import { configSchema } from "../core/config_schema.ts";
import { needs, uniqueName } from "../tests/service_env.ts";
import { connectTestClient } from "../tools/_test_client.ts";
import type { PostgresQueryPool } from "../tools/postgres_query_pool.ts";
import { postgresTools } from "../tools/postgres_tools.ts";
import { openDatabases } from "./databases.ts";
import { openClickHouseQuery, openPostgresQuery } from "./query_access.ts";

const url = () => Deno.env.get("DATABASE_URL")!;

Deno.test({
  ...needs("DATABASE_URL"),
  name:
    "query access: a superuser readUrl turns postgres.query off and says why; the opt-in serves it, unsafely",
  fn: async () => {
    const writer = postgres(url(), { max: 1, onnotice: () => {} });
    try {
      const config = configSchema.parse({ connections: { postgres: { url: url(), readUrl: url() } } });
      const off = await openPostgresQuery(config, writer, false);
      assert.equal(off.pool, undefined);
      assert.match(
        off.unavailable!,
        /not read-only: it is the writer's role \("postgres"\); it is a superuser/,
      );
      const tools = await connectTestClient(
        postgresTools({ sql: writer, queryUnavailable: off.unavailable }),
      );
      const r = await tools.raw("postgres.query", { sql: "SELECT 1" });
      assert.equal(r.isError, true);
      assert.match(
        (r.content[0] as { text: string }).text,
        /postgres\.query and postgres\.describe are off: .*superuser/,
      );
      await tools.close();

      // The opt-in is what it says: over a superuser, a read-only transaction still reads server files.
      const unsafe = configSchema.parse({
        connections: { postgres: { url: url(), readUrl: url(), unsafeQueryAsWriter: true } },
      });
      const on = await openPostgresQuery(unsafe, writer, false);
      assert.ok(on.pool);
      assert.match(on.where, /UNSAFE/);
      const rows = await (on.pool as PostgresQueryPool).run(
        "test",
        (sql) => sql`SELECT length(pg_read_file('/etc/hostname')) > 0 AS read`,
      );
      assert.deepEqual([...rows], [{ read: true }]);
      await on.close();
    } finally {
      await writer.end();
    }
  },
});

Deno.test({
  ...needs("CLICKHOUSE_URL"),
  name:
    "query access: ClickHouse without a separate read user is off, naming KILL QUERY; the writer's user too",
  fn: async () => {
    const writer = createClient({
      url: Deno.env.get("CLICKHOUSE_URL"),
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      const none = await openClickHouseQuery(
        configSchema.parse({ connections: { clickhouse: { url: Deno.env.get("CLICKHOUSE_URL") } } }),
        writer,
      );
      assert.equal(none.access, undefined);
      assert.match(none.unavailable!, /no read-only user is configured.*KILL QUERY/);
      const same = await openClickHouseQuery(
        configSchema.parse({
          connections: {
            clickhouse: { url: Deno.env.get("CLICKHOUSE_URL"), readUrl: Deno.env.get("CLICKHOUSE_URL") },
          },
        }),
        writer,
      );
      assert.equal(same.access, undefined);
      assert.match(same.unavailable!, /it is the writer's user \("default"\)/);
    } finally {
      await writer.close();
    }
  },
});

Deno.test({
  ...needs("DATABASE_URL"),
  name:
    "writer timeouts: a lock held elsewhere makes ensure_table and insert_rows fail retriably, never hang",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-locks-" });
    const config = configSchema.parse({
      node: { dataDir },
      connections: { postgres: { url: url(), lockTimeoutMs: 300, statementTimeoutMs: 5_000 } },
    });
    const databases = await openDatabases(config, ["postgres.insert_rows"]);
    const holder = postgres(url(), { max: 1, onnotice: () => {} });
    const table = uniqueName("locked").toLowerCase();
    const tools = await connectTestClient(postgresTools({ sql: databases.postgres! }));
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    try {
      await tools.call("postgres.ensure_table", { kind: "tick", table });
      const row = {
        symbol: "A",
        source: "s",
        ts: 1_700_000_000_000,
        price: 1,
        kafka_topic: "t",
        kafka_partition: 0,
        kafka_offset: "0",
      };
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => locked = resolve);
      const holding = holder.begin(async (tx) => {
        await tx.unsafe(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
        // The sink's ensure_table takes this advisory lock too: a session holding it must not freeze the sink.
        await tx`SELECT pg_advisory_xact_lock(hashtext(${`qistream.ensure_table.${table}`}))`;
        locked();
        await released;
      });
      await isLocked;
      for (
        const [tool, args] of [
          ["postgres.insert_rows", { table, rows: [row] }],
          ["postgres.ensure_table", { kind: "tick", table }],
        ] as const
      ) {
        const r = await tools.raw(tool, args);
        assert.equal(r.isError, true, `${tool} fails while the lock is held`);
        const content = r.structuredContent as { retriable?: boolean; message?: string };
        assert.equal(content.retriable, true, `${tool}: ${content.message}`);
        assert.match(content.message ?? "", /55P03.*connections\.postgres\.lockTimeoutMs/);
      }
      release();
      await holding;
      const ok = await tools.call("postgres.insert_rows", { table, rows: [row] });
      assert.equal(ok.inserted, 1, "once the lock is gone the same call succeeds");
    } finally {
      release(); // a failed assertion must not leave the holder's transaction (and this DROP) waiting
      await tools.close();
      await holder.unsafe(`DROP TABLE IF EXISTS "${table}"`);
      await holder.end();
      await databases.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  ...needs("DATABASE_URL"),
  name:
    "query access: a CREATEROLE (not superuser) writer makes the reader role; a plain writer turns the tools off",
  fn: async () => {
    const id = uniqueName("w").toLowerCase().replace(/[^a-z0-9_]/g, "_");
    const [creator, plain, reader] = [`${id}_cr`, `${id}_plain`, `${id}_reader`];
    const admin = postgres(url(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE ROLE "${creator}" LOGIN CREATEROLE`);
    await admin.unsafe(`CREATE ROLE "${plain}" LOGIN`);
    await admin.unsafe(`GRANT CREATE ON SCHEMA public TO "${creator}"`);
    const asCreator = postgres(url(), { max: 1, username: creator, onnotice: () => {} });
    const asPlain = postgres(url(), { max: 1, username: plain, onnotice: () => {} });
    const table = `${id}_t`;
    try {
      const config = configSchema.parse({ connections: { postgres: { url: url(), readerRole: reader } } });
      const made = await openPostgresQuery(config, asCreator, false);
      assert.ok(made.pool, made.unavailable ?? "");
      assert.equal(made.where, `role ${reader} (created by the node)`);
      const tools = await connectTestClient(
        postgresTools({ sql: asCreator, query: made.pool as PostgresQueryPool, readerRole: reader }),
      );
      await tools.call("postgres.ensure_table", { kind: "tick", table });
      const who = await tools.call("postgres.query", {
        sql: `SELECT current_user AS u, count(*)::int AS n FROM "${table}"`,
      });
      assert.deepEqual(who.rows, [{ u: reader, n: 0 }]);
      await tools.close();
      await made.close();

      const off = await openPostgresQuery(
        configSchema.parse({ connections: { postgres: { url: url(), readerRole: `${reader}_x` } } }),
        asPlain,
        false,
      );
      assert.equal(off.pool, undefined);
      assert.match(off.unavailable!, /neither CREATEROLE nor SUPERUSER.*connections\.postgres\.readUrl/);
    } finally {
      await asCreator.end();
      await asPlain.end();
      await admin.unsafe(`DROP TABLE IF EXISTS "${table}"`);
      await admin.unsafe(`REVOKE CREATE ON SCHEMA public FROM "${creator}"`);
      for (const role of [reader, creator, plain]) await admin.unsafe(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    }
  },
});
