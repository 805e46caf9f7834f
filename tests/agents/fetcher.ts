/**
 * Test agent that fetches each record's value (a URL) and publishes the response status. Its spec declares one
 * loopback host, `127.0.0.1:47613`; the test serves on it and checks any other host is refused by Deno.
 *
 * @module
 */
import type { AgentBatch, AgentContext, AgentSpec } from "../../actors/runtime/mod.ts";

/** The one loopback port this agent may reach; the test serves on it. */
export const ALLOWED_PORT = 47_613;

/** Fetcher spec: network to one loopback host only. */
export const spec: AgentSpec = {
  name: "fetcher",
  permissions: { net: [`127.0.0.1:${ALLOWED_PORT}`] },
};

/** Fetches every record's URL; a refused fetch fails the batch with Deno's error. */
export async function receive(batch: AgentBatch, ctx: AgentContext): Promise<void> {
  for (const r of batch.records) {
    const url = new TextDecoder().decode((r.value as Uint8Array | null) ?? new Uint8Array());
    const res = await fetch(url, { signal: ctx.signal });
    await ctx.publish("fetch.status", [{ key: url, value: new TextEncoder().encode(String(res.status)) }]);
  }
}
