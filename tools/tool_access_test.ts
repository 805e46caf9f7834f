import assert from "node:assert/strict";
import { isToolAllowed, rolePatterns, rolesOf } from "./tool_access.ts";
import { declaredTools } from "./tool_catalog.ts";

Deno.test("allow-list patterns: exact names, namespace wildcards and *", () => {
  assert.equal(isToolAllowed(["postgres.*"], "postgres.insert_rows"), true);
  assert.equal(isToolAllowed(["postgres.*"], "postgresx.query"), false);
  assert.equal(isToolAllowed(["postgres.*"], "clickhouse.query"), false);
  assert.equal(isToolAllowed(["stream.publish"], "stream.publish"), true);
  assert.equal(isToolAllowed(["stream.publish"], "stream.list_topics"), false);
  assert.equal(isToolAllowed(["*"], "supervision.restart"), true);
  assert.equal(isToolAllowed([], "postgres.query"), false);
});

Deno.test("roles from the tools' own role: reader gets read-only tools only, unknown roles get nothing", () => {
  const roles = rolesOf(declaredTools());
  assert.deepEqual(roles.reader, [
    "postgres.query",
    "postgres.describe",
    "clickhouse.query",
    "clickhouse.describe",
    "stream.list_topics",
    "stream.topic_stats",
    "supervision.cluster",
    "supervision.tree",
  ]);
  assert.deepEqual(
    roles.writer,
    declaredTools().map((t) => t.name).filter((n) => n !== "supervision.restart"),
  );
  assert.deepEqual(roles.admin, ["*"]);
  const reader = rolePatterns("reader", roles);
  assert.equal(isToolAllowed(reader, "postgres.query"), true);
  assert.equal(isToolAllowed(reader, "postgres.insert_rows"), false);
  assert.equal(isToolAllowed(reader, "supervision.restart"), false);
  assert.equal(isToolAllowed(rolePatterns("writer", roles), "clickhouse.insert_rows"), true);
  assert.equal(isToolAllowed(rolePatterns("writer", roles), "supervision.restart"), false);
  assert.equal(isToolAllowed(rolePatterns("admin", roles), "supervision.restart"), true);
  assert.deepEqual(rolePatterns("toString", roles), []);
  assert.deepEqual(rolePatterns("nobody", roles), []);
});

Deno.test("a tool that declares no role is for admin only", () => {
  const roles = rolesOf([{ name: "x.new" }, { name: "x.read", role: "reader" }]);
  assert.deepEqual(roles, { reader: ["x.read"], writer: ["x.read"], admin: ["*"] });
});
