/**
 * MCP tools: the only door from agents to databases and side effects.
 *
 * - Tool sets (`postgres`, `clickhouse`, `stream`, `supervision`) are lists of {@linkcode ToolDefinition}s built
 *   from their dependencies; {@linkcode toolCatalog} gathers the ones this process can offer.
 * - {@linkcode createToolServer} makes one MCP server per connection, bound to one caller and its allow-list;
 *   refusals are tool errors (`isError: true`, `structuredContent.error = "access_denied"`) counted in
 *   `mcp_tool_denied_total{caller,tool}`; every call is timed in `mcp_tool_call_duration_seconds{tool,outcome}`.
 * - Transports: {@linkcode serveActorTools} on an actor's MessagePort (the runtime's `tool_client` wire, or MCP
 *   JSON-RPC over {@linkcode MessagePortTransport}), and {@linkcode createMcpHttpHandler} for `/mcp`.
 *
 * ```ts
 * import { createMcpHttpHandler, serveActorTools, toolCatalog } from "./tools/mod.ts";
 *
 * const tools = toolCatalog({ postgres: { sql }, clickhouse: { client }, stream: { connector }, supervision });
 * http.mount("/mcp", createMcpHttpHandler({ tools, tokens: config.mcp.tokens,
 *   allowedHosts: config.mcp.allowedHosts, allowedOrigins: config.mcp.allowedOrigins }));
 * const channel = new MessageChannel();
 * await serveActorTools(channel.port1, { actorId: "pg-sink-0", allow: agent.tools, tools });
 * // hand channel.port2 to the actor (ActorHandle.start({ toolPort: channel.port2, ... }))
 * ```
 *
 * See docs/tools.md.
 *
 * @module
 */
export {
  type AnyToolDefinition,
  CORRELATION_META_KEY,
  defineTool,
  type ToolCallContext,
  type ToolDefinition,
  type ToolHints,
} from "./tool_definition.ts";
export { isToolAllowed, rolePatterns, rolesOf, TOOL_ROLES, type ToolRole } from "./tool_access.ts";
export { toolCallDuration, toolDenied } from "./tool_metrics.ts";
export { createToolServer, type ToolServerOptions } from "./tool_server.ts";
export { declaredTools, toolCatalog, type ToolCatalogDeps } from "./tool_catalog.ts";
export { MAX_INSERT_ROWS, postgresTools, type PostgresToolsDeps } from "./postgres_tools.ts";
export {
  DEFAULT_QUERY_LIMITS,
  PostgresQueryPool,
  type PostgresQueryPoolOptions,
  type QueryLimits,
} from "./postgres_query_pool.ts";
export {
  DANGEROUS_PREDEFINED_ROLES,
  ensureReaderRole,
  grantReaderSelect,
  prepareEmbeddedSandbox,
  queryRoleRisks,
  ReaderRoleError,
} from "./postgres_reader_role.ts";
export { CallerLimit } from "./caller_limit.ts";
export {
  clickHouseError,
  DatabaseError,
  isRetriableClickHouseError,
  isRetriablePostgresError,
  postgresError,
} from "./database_error.ts";
export { QueryBusyError } from "./query_busy_error.ts";
export { QueryUnavailableError } from "./query_unavailable_error.ts";
export {
  ensurePostgresTable,
  insertPostgresRows,
  postgresRowError,
  postgresTableDdl,
} from "./postgres_table.ts";
export {
  type ClickHouseQueryAccess,
  clickHouseTools,
  type ClickHouseToolsDeps,
  MAX_CLICKHOUSE_INSERT_ROWS,
  readOnlyQuery,
  readOnlySettings,
} from "./clickhouse_tools.ts";
export {
  clickHouseErrorCode,
  clickHouseRowError,
  clickHouseTableDdl,
  ensureClickHouseTable,
  insertClickHouseRows,
} from "./clickhouse_table.ts";
export {
  TABLE_KIND_SPECS,
  TABLE_KINDS,
  type TableKind,
  tableKind,
  type TableKindName,
} from "./table_kinds/mod.ts";
export { MAX_PUBLISH_RECORDS, streamTools, type StreamToolsDeps } from "./stream_tools.ts";
export { type SupervisionControl, supervisionTools } from "./supervision_tools.ts";
export { type RowError, tableIdentifierSchema, tableNameSchema, validateRows } from "./table_rows.ts";
export { insertIsolating } from "./insert_isolating.ts";
export { type CappedRows, DEFAULT_QUERY_CAPS, type QueryCaps, RowCollector } from "./query_caps.ts";
export {
  EMBEDDED_CLIENT_OPTIONS,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
  startEmbeddedPostgres,
} from "./embedded_postgres.ts";
export { MessagePortTransport } from "./message_port_transport.ts";
export { type ActorToolsConnection, type ActorToolsOptions, serveActorTools } from "./actor_tool_port.ts";
export { createMcpHttpHandler, type McpHttpOptions, type McpToken } from "./mcp_http_handler.ts";
export { authenticateBearer, unauthorized } from "./bearer_auth.ts";
export {
  type ApiCallContext,
  type ApiEndpoint,
  type ApiHttpOptions,
  createApiHandler,
} from "./api_http_handler.ts";
export {
  type AgentLifecycle,
  commandTool,
  type DesiredState,
  LIFECYCLE_AGENTS,
  LIFECYCLE_COMMANDS,
  type LifecycleCommand,
  type LifecycleControl,
  lifecycleEndpoints,
  lifecycleTools,
} from "./lifecycle_commands.ts";
export { deadLetterTools, type DeadLetterToolsDeps } from "./dead_letter_tools.ts";
export { toolEndpoint } from "./tool_endpoint.ts";
