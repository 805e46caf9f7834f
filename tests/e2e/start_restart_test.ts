/**
 * `deno task start` on a fresh data directory with no services: the default pipeline runs on the embedded log
 * and embedded PostgreSQL, ticks are visible through `/mcp`, Ctrl-C stops it cleanly, and a restart continues
 * where it stopped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { callTool, spawnStart, untilBanner, waitFor } from "./_pipeline_harness.ts";
import type { ActorNode, TreeNode } from "../../supervisor/tree_node.ts";

/** Every actor node of a tree. */
function actors(node: TreeNode): ActorNode[] {
  if (node.type === "actor") return [node];
  return "children" in node ? node.children.flatMap(actors) : [];
}

/** Starts `main.ts start` with only what a newcomer's shell would have; resolves with its URL once it is up. */
async function startNode(dataDir: string) {
  const started = spawnStart([], { QISTREAM_DATA_DIR: dataDir, QISTREAM_HTTP_PORT: "0" });
  const url = await untilBanner(started, "the start banner", 90_000);
  return { child: started.child, url, output: started.output, reading: started.reading };
}

async function tickCount(url: string, token: string): Promise<number> {
  const result = await callTool(url, token, "postgres.query", {
    sql: "SELECT count(*)::int AS n FROM market_ticks",
  });
  return (result.rows as { n: number }[])[0]!.n;
}

Deno.test({
  name: "start: the default pipeline runs with no services, Ctrl-C stops it, a restart continues",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-start-" });
    try {
      const first = await startNode(dataDir);
      const banner = first.output();
      for (
        const expected of ["/healthz", "/readyz", "/mcp", "embedded log", "embedded PostgreSQL", dataDir]
      ) {
        assert.ok(banner.includes(expected), `the banner names ${expected}:\n${banner}`);
      }
      const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
      let before = 0;
      await waitFor("ticks in embedded PostgreSQL", async () => {
        before = await tickCount(first.url, token);
        return { done: before >= 50, seen: before };
      }, 90_000);
      const ready = await fetch(`${first.url}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
      // The shipped batch deadline reaches the sinks, and neither it nor the heartbeat restarted a healthy actor.
      const tree =
        await (await fetch(`${first.url}/api/tree`, { headers: { authorization: `Bearer ${token}` } }))
          .json() as TreeNode;
      const sinks = actors(tree).filter((a) => a.agent === "postgres-sink");
      assert.equal(sinks.length, 2, JSON.stringify(tree));
      for (const sink of sinks) {
        assert.equal(sink.batchDeadlineMs, 60_000);
        assert.equal(sink.restarts, 0, JSON.stringify(sink.lastError));
      }

      first.child.kill("SIGINT");
      const status = await first.child.status;
      await first.reading;
      assert.equal(status.code, 0, first.output().slice(-3000));

      const second = await startNode(dataDir);
      try {
        let after = 0;
        await waitFor("more ticks after the restart", async () => {
          after = await tickCount(second.url, token);
          return { done: after > before + 50, seen: { before, after } };
        }, 90_000);
      } finally {
        second.child.kill("SIGTERM");
        assert.equal((await second.child.status).code, 0, second.output().slice(-3000));
        await second.reading;
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
