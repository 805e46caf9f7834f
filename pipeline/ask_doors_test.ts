import assert from "node:assert/strict";
import { ConfigError } from "../core/config_error.ts";
import { parseConfig } from "../core/config_loader.ts";
import { Redactor } from "../llm/redactor.ts";
import { demoTools } from "../tools/_demo_tools.ts";
import { askDoors, assertReadOnlyAllow } from "./ask_doors.ts";

const config = (tools: string) =>
  parseConfig(
    `
connections: { llm: { baseUrl: "http://127.0.0.1:9/v1" } }
topics: { market.alerts: {}, llm.audit: {} }
agents:
  analyst: { kind: analyst, subscribe: { topics: [market.alerts] }, tools: ${tools} }
`,
    { file: "<test>", env: () => undefined },
  ).config;

Deno.test("ask doors: an analyst allow-list reaching a tool that is not read-only fails at start, naming it", () => {
  assert.throws(
    () => askDoors(config("[demo.*]"), demoTools(), () => Promise.resolve(), new Redactor()),
    (e) =>
      e instanceof ConfigError &&
      /agents\.analyst\.tools: an LLM may only be given read-only tools; demo\.write is not/
        .test(e.message),
  );
  const doors = askDoors(config("[demo.echo]"), demoTools(), () => Promise.resolve(), new Redactor());
  assert.equal(doors?.tool.name, "analyst.ask");
  assert.equal(doors?.endpoint.method, "POST");
  assert.doesNotThrow(() => assertReadOnlyAllow(demoTools(), ["demo.echo"], "x"));
});

Deno.test("ask doors: none without an LLM endpoint; an undeclared audit topic is declared for it", () => {
  const none = parseConfig("topics: {}", { file: "<test>", env: () => undefined }).config;
  assert.equal(askDoors(none, demoTools(), () => Promise.resolve(), new Redactor()), undefined);
  const only = parseConfig("connections: { llm: {} }", { file: "<test>", env: () => undefined }).config;
  assert.equal(only.topics["llm.audit"]?.schema, "llm.audit");
});
