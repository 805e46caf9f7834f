/**
 * The pipeline: turns a configuration into a running node (connector, schemas, databases, MCP tools, agents).
 *
 * @module
 */
export { type AgentKind, type AgentRegistry, AGENTS_DIR, loadAgentRegistry } from "./agent_registry.ts";
export { agentChecks, resolveAgent, type ResolvedAgent } from "./check_agents.ts";
export { pipelineConfigCheck } from "./pipeline_config_check.ts";
export { avroPublisher } from "./avro_publish.ts";
export { type Databases, openDatabases } from "./databases.ts";
export {
  type PipelineOptions,
  PipelineStartError,
  type RunningPipeline,
  startPipeline,
} from "./start_pipeline.ts";
