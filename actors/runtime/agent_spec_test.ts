import assert from "node:assert/strict";
import { assertAgentModule } from "./agent_spec.ts";

const receive = () => {};

Deno.test("a module with a spec and a handler is an agent", () => {
  const mod = { spec: { name: "sink-1", tools: ["insert"], permissions: { net: [] } }, receive };
  assert.equal(assertAgentModule(mod).spec.name, "sink-1");
});

Deno.test("malformed agent modules are refused with TypeErrors naming the problem", () => {
  assert.throws(() => assertAgentModule({ receive }), /does not export `spec`/);
  assert.throws(() => assertAgentModule({ spec: { name: "Bad Name" }, receive }), /spec.name must match/);
  assert.throws(() => assertAgentModule({ spec: { name: "x" } }), /neither receive\(\) nor run\(\)/);
  assert.throws(
    () => assertAgentModule({ spec: { name: "x", permissions: { hrtime: [] } }, receive }),
    /unknown permission kind "hrtime"/,
  );
  assert.throws(
    () => assertAgentModule({ spec: { name: "x", permissions: { net: true } }, receive }),
    /net must be a string array/,
  );
  assert.throws(
    () => assertAgentModule({ spec: { name: "x", tools: "all" }, receive }),
    /spec.tools must be a string array/,
  );
});
