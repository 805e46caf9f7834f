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
import type postgres from "postgres";
import type { ClickHouseClient } from "@clickhouse/client";
import type { StreamConnector } from "../connector/types.ts";
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

/**
 * Every tool this build declares, with no dependency behind them: for validating the tools a pipeline file
 * names and for the reference docs. Their handlers fail (nothing is connected); descriptions that depend on
 * configured caps show the defaults.
 *
 * @returns The whole catalogue, as {@linkcode toolCatalog} builds it with every dependency present.
 */
export function declaredTools(): AnyToolDefinition[] {
  return toolCatalog({
    postgres: { sql: unconnected<postgres.Sql>("PostgreSQL") },
    clickhouse: { client: unconnected<ClickHouseClient>("ClickHouse") },
    stream: { connector: unconnected<StreamConnector>("the stream connector"), publishTopics: [] },
    supervision: unconnected<SupervisionControl>("the supervision tree"),
  });
}

/** A stand-in dependency that throws on use. */
function unconnected<T>(what: string): T {
  return new Proxy({}, {
    get: (_, key) => {
      if (key === "then") return undefined;
      throw new TypeError(`Cannot use ${what}: this is the declared catalogue (nothing is connected)`);
    },
  }) as T;
}
