import assert from "node:assert/strict";
import { loadSchemaCatalog } from "../connector/registry/mod.ts";
import { topicSchemas } from "./topic_schemas.ts";

const topic = (schema?: string) => ({
  partitions: 1,
  replicationFactor: 1,
  cleanupPolicy: "delete" as const,
  compression: "none" as const,
  ...(schema ? { schema } : {}),
});

Deno.test("topic schemas: declared topics get their mapped schema; a topic may name one; others have none", async () => {
  const catalog = await loadSchemaCatalog();
  const out = topicSchemas(catalog, {
    "market.ticks": topic(),
    "test.ticks": topic("market.tick"),
    "market.dead-letter": topic(),
  });
  assert.deepEqual(out.subjects.map((s) => [s.subject, s.name]), [
    ["market.ticks-value", "market.tick"],
    ["test.ticks-value", "market.tick"],
  ]);
  const mapped = catalog.subjects.find((s) => s.topic === "market.ticks")!;
  assert.deepEqual(out.subjects[1]!.versions, mapped.versions, "every version of the named schema");
});

Deno.test("topic schemas: an unknown schema name fails with the topic's path", async () => {
  const catalog = await loadSchemaCatalog();
  assert.throws(
    () => topicSchemas(catalog, { "x.ticks": topic("market.nope") }),
    /topics\.x\.ticks\.schema: no schema "market\.nope"/,
  );
});
