/**
 * The pipeline: turns a configuration into a running node (connector, schemas, databases, MCP tools, agents).
 *
 * @module
 */
export { AGENT_KINDS, type AgentKind, agentKind } from "./agent_kinds.ts";
export { avroPublisher } from "./avro_publish.ts";
export { type Databases, openDatabases } from "./databases.ts";
export {
  type PipelineOptions,
  PipelineStartError,
  type RunningPipeline,
  startPipeline,
} from "./start_pipeline.ts";
