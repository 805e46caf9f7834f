/**
 * As shipped: `main.ts start` with the unchanged pipeline.yaml and only environment variables — the test services'
 * `DATABASE_URL` (a superuser), `CLICKHOUSE_URL` and `CLICKHOUSE_READ_URL` — serves `postgres.query` and
 * `clickhouse.query` to the local reader token as read-only roles of their own, and `/api/tree` only with a token.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { needs } from "../service_env.ts";
import { callTool, spawnStart, untilBanner, waitFor } from "./_pipeline_harness.ts";

Deno.test({
  ...needs("DATABASE_URL", "CLICKHOUSE_URL", "CLICKHOUSE_READ_URL"),
  name:
    "as shipped: the reader token queries as qistream_reader, server programs and files stay out of reach",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-shipped-query-" });
    const since = Date.now();
    const started = spawnStart([], {
      QISTREAM_DATA_DIR: dataDir,
      QISTREAM_HTTP_PORT: "0",
      DATABASE_URL: Deno.env.get("DATABASE_URL")!,
      CLICKHOUSE_URL: Deno.env.get("CLICKHOUSE_URL")!,
      CLICKHOUSE_READ_URL: Deno.env.get("CLICKHOUSE_READ_URL")!,
    });
    try {
      const url = await untilBanner(started, "the start banner", 90_000);
      assert.match(started.output(), /pg query\s+role qistream_reader \(created by the node\)/);
      assert.match(started.output(), /ch query\s+user qistream_reader \(profile readonly=1\)/);
      const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
      const marker = `/tmp/qistream-shipped-${crypto.randomUUID()}`;

      // Ticks of this run (synthetic ts start at the node's start), not rows an earlier run left behind.
      await waitFor("this run's ticks visible to the reader in both databases", async () => {
        const pg = await callTool(url, token, "postgres.query", {
          sql: "SELECT count(*)::int AS n FROM market_ticks WHERE ts >= to_timestamp($1::float8 / 1000)",
          params: [since],
        });
        const ch = await callTool(url, token, "clickhouse.query", {
          sql: `SELECT count() AS n FROM market_ticks WHERE ts >= ${since}`,
        });
        const seen = { pg: pg.rows, ch: ch.rows };
        return {
          done: (pg.rows as { n: number }[])[0]!.n > 0 && Number((ch.rows as { n: string }[])[0]!.n) > 0,
          seen,
        };
      }, 90_000);
      const who = await callTool(url, token, "postgres.query", { sql: "SELECT current_user AS u" });
      assert.deepEqual(who.rows, [{ u: "qistream_reader" }]);
      for (
        const [tool, sql, refusal] of [
          ["postgres.query", `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`, /pg_execute_server_program/],
          ["postgres.query", "SELECT pg_read_file('/etc/hostname')", /permission denied/],
          [
            "postgres.query",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            /superuser|permission/,
          ],
          [
            "clickhouse.query",
            "SELECT * FROM file('/etc/passwd', 'CSV', 'a String')",
            /forbidden in readonly/,
          ],
        ] as const
      ) {
        await assert.rejects(() => callTool(url, token, tool, { sql }), refusal, sql);
      }
      assert.equal(await Deno.stat(marker).then(() => true, () => false), false, "no program ran");

      const anonymous = await fetch(`${url}/api/tree`);
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401);
      const tree = await fetch(`${url}/api/tree`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(tree.status, 200);
      assert.equal((await tree.json()).id, "root");
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200, "probes stay open");
      await ready.body?.cancel();

      started.child.kill("SIGTERM");
      assert.equal((await started.status).code, 0, started.output().slice(-3000));
    } finally {
      await started.kill();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
