import assert from "node:assert/strict";
import { declaredTools } from "../tools/tool_catalog.ts";
import { loadAgentRegistry } from "./agent_registry.ts";

const SPEC_MODULE = new URL("../actors/runtime/agent_spec.ts", import.meta.url).href;

/** A folder of agent modules written by the test, loaded as a registry. */
async function registryOf(files: Record<string, string>) {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
  return { dir, load: () => loadAgentRegistry(new URL(`file://${dir}/`)) };
}

Deno.test("registry: every agent module of actors/agents/ is a kind named by its spec, with a handler for its role", async () => {
  const registry = await loadAgentRegistry();
  assert.deepEqual(registry.kinds.map((k) => k.spec.name), [
    "analyst",
    "bar-builder",
    "clickhouse-sink",
    "cryptocompare",
    "market-monitor",
    "postgres-sink",
    "replay",
    "synthetic",
    "twelvedata",
  ]);
  for (const { spec, module } of registry.kinds) {
    const mod = await import(module.href);
    assert.equal(mod.spec, spec);
    if (spec.role !== "consumer") assert.equal(typeof mod.run, "function", `${spec.name} run()`);
    if (spec.role !== "source") assert.equal(typeof mod.receive, "function", `${spec.name} receive()`);
  }
  assert.equal(registry.get("synthetic")?.spec.role, "source");
  assert.equal(registry.get("postgres-sink")?.spec.role, "consumer");
  assert.equal(registry.get("bloomberg"), undefined);
});

Deno.test("registry: each kind's defaults and examples pass its schema, and every tool it calls exists", async () => {
  const tools = new Set(declaredTools().map((t) => t.name));
  for (const { spec } of (await loadAgentRegistry()).kinds) {
    assert.ok(spec.config, `${spec.name} has a config schema`);
    const defaults = spec.config.safeParse({});
    assert.ok(defaults.success, `${spec.name}: an empty config is valid (defaults for everything)`);
    for (const example of spec.examples ?? []) {
      const parsed = spec.config.safeParse(example.config);
      assert.ok(
        parsed.success,
        `${spec.name} example "${example.title}": ${!parsed.success && parsed.error}`,
      );
    }
    for (const tool of spec.tools ?? []) {
      assert.ok(tools.has(tool), `${spec.name} calls ${tool}, which exists`);
    }
  }
});

Deno.test("registry: a new kind is found from its module alone; helpers, tests and non-agents are skipped", async () => {
  const { dir, load } = await registryOf({
    "echo.ts": `import { defineAgent } from ${JSON.stringify(SPEC_MODULE)};
export const spec = defineAgent({ name: "echo", summary: "Logs every record", role: "consumer" });
export function receive() {}`,
    "_helper.ts": `export const spec = { broken: true };`,
    "echo_test.ts": `throw new Error("a test is never imported by the registry");`,
    "some_error.ts": `export class SomeError extends Error {}`,
  });
  try {
    const registry = await load();
    assert.deepEqual(registry.kinds.map((k) => k.spec.name), ["echo"]);
    assert.equal(registry.get("echo")?.module.href, `file://${dir}/echo.ts`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry: an agent module written to the old contract (no role) fails, saying to use defineAgent", async () => {
  const { dir, load } = await registryOf({
    "old.ts": `export const spec = { name: "old", summary: "An old-style agent" };
export function run() {}`,
  });
  try {
    await assert.rejects(load(), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        e.message,
        /agent kind "old" of old\.ts: spec\.role must be one of source, consumer, both/,
      );
      assert.match(e.message, /defineAgent; see docs\/agents\.md, "Adding an agent kind"/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry: two modules declaring the same kind fail, naming both; a consumer without receive() fails", async () => {
  const kind = (role: string, handler: string) =>
    `export const spec = { name: "twin", summary: "s", role: "${role}" };\nexport function ${handler}() {}`;
  const twins = await registryOf({ "a.ts": kind("source", "run"), "b.ts": kind("source", "run") });
  const handless = await registryOf({ "c.ts": kind("consumer", "run") });
  try {
    await assert.rejects(twins.load(), /agent kind "twin" of b\.ts: .*a\.ts declares it too/);
    await assert.rejects(handless.load(), /a consumer must export receive\(\)/);
  } finally {
    await Deno.remove(twins.dir, { recursive: true });
    await Deno.remove(handless.dir, { recursive: true });
  }
});
