/**
 * The whole tool catalogue from whatever dependencies this process has: a tool set is included only when its
 * dependency is given (no PostgreSQL configured → no `postgres.*` tools).
 *
 * @module
 */
import { clickHouseTools, type ClickHouseToolsDeps } from "./clickhouse_tools.ts";
import { postgresTools, type PostgresToolsDeps } from "./postgres_tools.ts";
import { streamTools, type StreamToolsDeps } from "./stream_tools.ts";
import { type SupervisionControl, supervisionTools } from "./supervision_tools.ts";
import type { AnyToolDefinition } from "./tool_definition.ts";
import { type LifecycleControl, lifecycleTools } from "./lifecycle_commands.ts";
import { deadLetterTools, type DeadLetterToolsDeps } from "./dead_letter_tools.ts";

/** Dependencies of {@linkcode toolCatalog}; each one present adds its tool set. */
export interface ToolCatalogDeps {
  postgres?: PostgresToolsDeps;
  clickhouse?: ClickHouseToolsDeps;
  stream?: StreamToolsDeps;
  supervision?: SupervisionControl;
  lifecycle?: LifecycleControl;
  deadLetters?: DeadLetterToolsDeps;
}

/**
 * Builds the catalogue.
 *
 * @param deps The available dependencies.
 * @returns Tool definitions, in namespace order.
 *
 * @example
 * ```ts
 * const tools = toolCatalog({ postgres: { sql }, stream: { connector }, supervision });
 * http.mount("/mcp", createMcpHttpHandler({ tools, tokens: config.mcp.tokens }));
 * ```
 */
export function toolCatalog(deps: ToolCatalogDeps): AnyToolDefinition[] {
  return [
    ...(deps.postgres ? postgresTools(deps.postgres) : []),
    ...(deps.clickhouse ? clickHouseTools(deps.clickhouse) : []),
    ...(deps.stream ? streamTools(deps.stream) : []),
    ...(deps.supervision ? supervisionTools({ supervision: deps.supervision }) : []),
    ...(deps.lifecycle ? lifecycleTools(deps.lifecycle) : []),
    ...(deps.deadLetters ? deadLetterTools(deps.deadLetters) : []),
  ];
}
