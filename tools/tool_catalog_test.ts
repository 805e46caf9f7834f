import assert from "node:assert/strict";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import postgres from "postgres";
import type { StreamConnector } from "../connector/types.ts";
import { connectTestClient } from "./_test_client.ts";
import { isToolAllowed, rolesOf } from "./tool_access.ts";
import { toolCatalog } from "./tool_catalog.ts";

// Clients are created but never connected: building the catalogue and listing tools touches no service.
function fullCatalog() {
  const sql = postgres("postgres://nobody@127.0.0.1:1/none");
  const client = createClient({ url: "http://127.0.0.1:1", log: { level: ClickHouseLogLevel.OFF } });
  const tools = toolCatalog({
    postgres: { sql },
    clickhouse: { client },
    stream: { connector: {} as StreamConnector },
    supervision: { tree: () => ({}), restart: () => Promise.resolve() },
  });
  return { tools, close: async () => (await sql.end(), await client.close()) };
}

Deno.test("the catalogue: 15 namespaced tools, each with a description and all four MCP hints", async () => {
  const { tools, close } = fullCatalog();
  try {
    assert.deepEqual(tools.map((t) => t.name), [
      "postgres.ensure_table",
      "postgres.insert_rows",
      "postgres.query",
      "postgres.describe",
      "clickhouse.ensure_table",
      "clickhouse.insert_rows",
      "clickhouse.query",
      "clickhouse.describe",
      "stream.publish",
      "stream.list_topics",
      "stream.topic_stats",
      "stream.read_latest",
      "supervision.cluster",
      "supervision.tree",
      "supervision.restart",
    ]);
    for (const t of tools) {
      assert.ok(t.description.length > 60, `${t.name} has a usable description`);
      const h = t.annotations;
      for (const k of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] as const) {
        assert.equal(typeof h[k], "boolean", `${t.name}.${k}`);
      }
      if (h.readOnlyHint) assert.equal(h.destructiveHint, false, `${t.name}: read-only is not destructive`);
    }
    for (const t of tools.filter((t) => isToolAllowed(rolesOf(tools).reader, t.name))) {
      assert.equal(t.annotations.readOnlyHint, true, `reader may call ${t.name}, so it must be read-only`);
    }
    const c = await connectTestClient(tools);
    const listed = (await c.client.listTools()).tools as { name: string; inputSchema: { type: string } }[];
    assert.equal(listed.length, 15);
    assert.ok(listed.every((t) => t.inputSchema.type === "object"));
    await c.close();
  } finally {
    await close();
  }
});

Deno.test("toolCatalog leaves out the sets whose dependency is absent", () => {
  const tools = toolCatalog({ supervision: { tree: () => ({}), restart: () => Promise.resolve() } });
  assert.deepEqual(tools.map((t) => t.name), [
    "supervision.cluster",
    "supervision.tree",
    "supervision.restart",
  ]);
});
