/**
 * Test agent: republishes each batch's records to `config.topic`, optionally calls a tool, counts and logs.
 *
 * @module
 */
import { z } from "zod";
import type { AgentBatch, AgentContext, AgentSpec } from "../../actors/runtime/mod.ts";

const Config = z.object({ topic: z.string().default("echo.out"), tool: z.string().optional() });
type Config = z.infer<typeof Config>;

/** Echo spec: no permissions, one tool. */
export const spec: AgentSpec<Config> = {
  name: "echo",
  summary: "Republishes what it receives",
  config: Config,
  tools: ["lookup"],
  permissions: {},
};

/** Publishes the records, then calls `config.tool` once per batch if set. */
export async function receive(batch: AgentBatch, ctx: AgentContext<Config>): Promise<void> {
  ctx.log.info("echoing {count} records", { count: batch.records.length });
  await ctx.publish(ctx.config.topic, batch.records.map((r) => ({ key: r.key, value: r.value })));
  if (ctx.config.tool) await ctx.tools.call(ctx.config.tool, { batch: batch.id });
  ctx.metrics.inc("echo_records_total", {}, batch.records.length);
}
