import assert from "node:assert/strict";
import { ConfigError } from "../core/config_error.ts";
import { AGENT_KINDS, agentKind } from "./agent_kinds.ts";

Deno.test("agent kinds: every kind's module exists and exports a spec named after the kind", async () => {
  for (const [name, kind] of Object.entries(AGENT_KINDS)) {
    const mod = await import(kind.module.href);
    assert.equal(mod.spec?.name, name, `${kind.module.pathname} exports spec.name "${name}"`);
    assert.equal(typeof (kind.role === "source" ? mod.run : mod.receive), "function");
  }
});

Deno.test("agent kinds: an unknown kind is a config error naming the field and the known kinds", () => {
  assert.throws(() => agentKind("feed", "bloomberg"), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /agents\.feed\.kind: unknown kind "bloomberg" \(known: synthetic, replay/);
    return true;
  });
});

Deno.test("agent kinds: API keys and URLs come from connections unless the agent sets its own", () => {
  const fromConnections = AGENT_KINDS.cryptocompare!.fromConnections!;
  assert.deepEqual(
    fromConnections({ cryptocompare: { apiKey: "k", url: "https://min-api.cryptocompare.com" } }),
    {
      apiKey: "k",
      url: "https://min-api.cryptocompare.com",
    },
  );
  assert.deepEqual(fromConnections({}), {});
});
