import assert from "node:assert/strict";
import { createClient } from "@clickhouse/client";
import { needs, services, uniqueName } from "../service_env.ts";

Deno.test({
  name: "clickhouse: rows inserted with @clickhouse/client are selected back (needs CLICKHOUSE_URL)",
  ...needs("CLICKHOUSE_URL"),
  // The client keeps an HTTP agent with keep-alive sockets; it is closed in finally.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const client = createClient({ url: services.clickhouseUrl });
    const table = uniqueName("smoke");
    try {
      // Old-dialect DDL that ClickHouse 18.16 and current versions both accept.
      await client.command({
        query: `CREATE TABLE ${table} (symbol String, ts DateTime, price Float64) ` +
          `ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY (symbol, ts)`,
      });
      await client.insert({
        table,
        format: "JSONEachRow",
        values: [
          { symbol: "BTC-USD", ts: "2026-01-02 03:04:05", price: 42000.5 },
          { symbol: "ETH-USD", ts: "2026-01-02 03:04:06", price: 2500.25 },
        ],
      });
      const result = await client.query({
        query: `SELECT symbol, price FROM ${table} ORDER BY ts`,
        format: "JSONEachRow",
      });
      assert.deepEqual(await result.json(), [{ symbol: "BTC-USD", price: 42000.5 }, {
        symbol: "ETH-USD",
        price: 2500.25,
      }]);
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
      await client.close();
    }
  },
});
