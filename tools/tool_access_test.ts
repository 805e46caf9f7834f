import assert from "node:assert/strict";
import { DEFAULT_ROLES, isToolAllowed, rolePatterns } from "./tool_access.ts";

Deno.test("allow-list patterns: exact names, namespace wildcards and *", () => {
  assert.equal(isToolAllowed(["postgres.*"], "postgres.insert_rows"), true);
  assert.equal(isToolAllowed(["postgres.*"], "postgresx.query"), false);
  assert.equal(isToolAllowed(["postgres.*"], "clickhouse.query"), false);
  assert.equal(isToolAllowed(["stream.publish"], "stream.publish"), true);
  assert.equal(isToolAllowed(["stream.publish"], "stream.list_topics"), false);
  assert.equal(isToolAllowed(["*"], "supervision.restart"), true);
  assert.equal(isToolAllowed([], "postgres.query"), false);
});

Deno.test("default roles: reader gets read-only tools only, unknown roles get nothing", () => {
  const reader = rolePatterns("reader");
  assert.equal(isToolAllowed(reader, "postgres.query"), true);
  assert.equal(isToolAllowed(reader, "postgres.insert_rows"), false);
  assert.equal(isToolAllowed(reader, "supervision.restart"), false);
  assert.equal(isToolAllowed(rolePatterns("writer"), "clickhouse.insert_rows"), true);
  assert.equal(isToolAllowed(rolePatterns("writer"), "supervision.restart"), false);
  assert.equal(isToolAllowed(rolePatterns("admin"), "supervision.restart"), true);
  assert.deepEqual(rolePatterns("toString"), []);
  assert.deepEqual(rolePatterns("nobody"), []);
  assert.deepEqual(Object.keys(DEFAULT_ROLES).sort(), ["admin", "reader", "writer"]);
});
