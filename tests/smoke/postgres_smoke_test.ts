import assert from "node:assert/strict";
import postgres from "postgres";
import { needs, services, uniqueName } from "../service_env.ts";

Deno.test({
  name: "postgres: rows inserted with the postgres client are selected back (needs DATABASE_URL)",
  ...needs("DATABASE_URL"),
  fn: async () => {
    const sql = postgres(services.databaseUrl!, { max: 1, onnotice: () => {} });
    const table = uniqueName("smoke");
    try {
      await sql`CREATE TABLE ${
        sql(table)
      } (symbol text NOT NULL, ts timestamptz NOT NULL, price double precision)`;
      const rows = [
        { symbol: "BTC-USD", ts: new Date("2026-01-02T03:04:05Z"), price: 42000.5 },
        { symbol: "ETH-USD", ts: new Date("2026-01-02T03:04:06Z"), price: 2500.25 },
      ];
      await sql`INSERT INTO ${sql(table)} ${sql(rows)}`;
      const selected = await sql`SELECT symbol, ts, price FROM ${sql(table)} ORDER BY ts`;
      assert.deepEqual(selected.map((r) => ({ ...r })), rows);
    } finally {
      await sql`DROP TABLE IF EXISTS ${sql(table)}`;
      await sql.end();
    }
  },
});
