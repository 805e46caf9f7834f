/**
 * The check the pipeline adds to loading its file: every agent against its kind's spec (check_agents.ts), with
 * the kinds of `actors/agents/` and the tools this build declares.
 *
 * @module
 */
import type { ConfigCheck } from "../core/config_loader.ts";
import { declaredTools } from "../tools/tool_catalog.ts";
import { loadAgentRegistry } from "./agent_registry.ts";
import { agentChecks } from "./check_agents.ts";

/**
 * The loader check of a pipeline file; pass it as `check` to `loadConfig`.
 *
 * @returns The check.
 * @example
 * ```ts
 * const { config } = await loadConfig({ path: "pipeline.yaml", check: await pipelineConfigCheck() });
 * ```
 */
export async function pipelineConfigCheck(): Promise<ConfigCheck> {
  return agentChecks(await loadAgentRegistry(), declaredTools().map((t) => t.name));
}
