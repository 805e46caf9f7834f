/**
 * The in-Worker agent runtime and the agent-module contract.
 *
 * An agent module exports `spec` and `receive(batch, ctx)` and/or `run(ctx)`; an agent kind (one the pipeline
 * file can name) declares its spec with `defineAgent` (docs/agents.md, "Adding an agent kind"):
 *
 * ```ts
 * import { z } from "zod";
 * import { type AgentBatch, type AgentContext, defineAgent } from "../runtime/mod.ts";
 *
 * export const spec = defineAgent<{ topic: string }>({
 *   name: "forwarder",
 *   summary: "Forwards every record to another topic",
 *   role: "consumer",
 *   config: z.object({ topic: z.string().default("out").describe("Where records go.") }),
 *   topics: (config) => ({ writes: [config.topic] }),
 *   permissions: {}, // no network, no files, no env
 * });
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
export {
  type AgentConnections,
  type AgentKindSpec,
  type AgentModule,
  type AgentPermissions,
  type AgentRole,
  type AgentSpec,
  type AgentTopics,
  assertAgentModule,
  type BatchDefaults,
  connectionDefaults,
  defineAgent,
  specPermissions,
} from "./agent_spec.ts";
export { type AgentMetrics, MetricBuffer } from "./agent_metrics.ts";
export { createToolClient, serveToolPort, type ToolClient } from "./tool_client.ts";
export { ToolCallError } from "./tool_call_error.ts";
export { AgentPublishError } from "./agent_publish_error.ts";
export { serveAgent, type WorkerScope } from "./worker_runtime.ts";
export * from "./actor_protocol.ts";
