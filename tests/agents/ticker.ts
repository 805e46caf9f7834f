/**
 * Test source agent: publishes `config.count` ticks, one every `config.everyMs`, then returns (a normal exit).
 * With `config.failAt` its `run()` rejects at that tick (a crash).
 *
 * @module
 */
import { z } from "zod";
import type { AgentContext, AgentSpec } from "../../actors/runtime/mod.ts";

const Config = z.object({
  count: z.number().int().min(0).default(3),
  everyMs: z.number().int().min(0).default(5),
  failAt: z.number().int().optional(),
});
type Config = z.infer<typeof Config>;

/** Ticker spec: no permissions. */
export const spec: AgentSpec<Config> = { name: "ticker", config: Config, permissions: {} };

/** Publishes ticks until done or stopped. */
export async function run(ctx: AgentContext<Config>): Promise<void> {
  for (let i = 0; i < ctx.config.count && !ctx.signal.aborted; i++) {
    if (i === ctx.config.failAt) throw new Error(`tick ${i} failed`);
    await ctx.publish("ticks", [{ key: "BTC", value: new TextEncoder().encode(String(i)) }]);
    await new Promise((r) => setTimeout(r, ctx.config.everyMs));
  }
}
