import assert from "node:assert/strict";
import { configSecrets, Redactor } from "./redactor.ts";

Deno.test("configSecrets: keys, tokens and passwords inside connection strings, at any depth", () => {
  const secrets = configSecrets({
    connections: {
      postgres: { url: "postgres://app:p%40ss-word@db/q", password: "pg-secret" },
      llm: { apiKey: "sk-live-123" },
    },
    agents: { x: { config: { apiKey: "agent-key-1" } } },
    mcp: { tokens: [{ name: "ops", token: "token-abcdef-123456" }] },
  }).sort();
  assert.deepEqual(secrets, [
    "agent-key-1",
    "p%40ss-word",
    "p@ss-word",
    "pg-secret",
    "sk-live-123",
    "token-abcdef-123456",
  ]);
});

Deno.test("Redactor: exact secrets, key shapes, URL credentials and configured patterns", () => {
  const r = new Redactor(["hunter2-long-secret"], ["ACCT-\\d{6}"]);
  assert.equal(
    r.text("key hunter2-long-secret, sk-abcdefghijklmnopqrstu, postgres://u:pw@h/db, account ACCT-123456"),
    "key ***, ***, postgres://u:***@h/db, account ***",
  );
  assert.deepEqual(r.value({ q: ["hunter2-long-secret"] }), { q: ["***"] });
  assert.equal(new Redactor(["short"]).text("short"), "short", "values under 6 characters are not secrets");
});
