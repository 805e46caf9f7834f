/**
 * The in-Worker agent runtime and the agent-module contract.
 *
 * An agent module exports `spec` and `receive(batch, ctx)` and/or `run(ctx)`:
 *
 * ```ts
 * import { z } from "zod";
 * import type { AgentBatch, AgentContext, AgentSpec } from "../runtime/mod.ts";
 *
 * export const spec: AgentSpec<{ topic: string }> = {
 *   name: "forwarder",
 *   config: z.object({ topic: z.string().default("out") }),
 *   tools: [],
 *   permissions: {}, // no network, no files, no env
 * };
 *
 * export async function receive(batch: AgentBatch, ctx: AgentContext<{ topic: string }>) {
 *   await ctx.publish(ctx.config.topic, batch.records.map((r) => ({ key: r.key, value: r.value })));
 * }
 * ```
 *
 * @module
 */
export type { AgentBatch } from "./agent_batch.ts";
export type { AgentContext } from "./agent_context.ts";
export { type AgentModule, type AgentPermissions, type AgentSpec, assertAgentModule } from "./agent_spec.ts";
export { type AgentMetrics, MetricBuffer } from "./agent_metrics.ts";
export { createToolClient, serveToolPort, type ToolClient } from "./tool_client.ts";
export { ToolCallError } from "./tool_call_error.ts";
export { AgentPublishError } from "./agent_publish_error.ts";
export { serveAgent, type WorkerScope } from "./worker_runtime.ts";
export * from "./actor_protocol.ts";
