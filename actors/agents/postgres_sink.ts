/**
 * The PostgreSQL / TimescaleDB sink: writes every delivered batch of `market.tick` records into a tick table
 * through the `postgres.*` MCP tools — `postgres.ensure_table` once (a hypertable when timescaledb is
 * available), then one `postgres.insert_rows` call per batch: one `INSERT ... SELECT FROM unnest(...) ON
 * CONFLICT DO NOTHING` statement, so redelivered batches never duplicate rows. It has no network of its own;
 * with no `DATABASE_URL`, the main program serves the tools from embedded PostgreSQL
 * (tools/embedded_postgres.ts). Failures: see actors/agents/_tick_sink.ts and docs/sinks.md.
 *
 * @module
 */
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { tickSink, TickSinkConfig } from "./_tick_sink.ts";

/** Config of the PostgreSQL sink: `table` (default `market_ticks`), `retry`, `breaker`. */
export const PostgresSinkConfig = TickSinkConfig;

/** The PostgreSQL sink's spec: its two tools, no permissions. */
export const spec: AgentKindSpec<TickSinkConfig> = defineAgent({
  name: "postgres-sink",
  summary: "Writes market ticks to PostgreSQL/TimescaleDB through the postgres MCP tools, idempotently",
  role: "consumer",
  config: PostgresSinkConfig,
  tools: ["postgres.ensure_table", "postgres.insert_rows"],
  permissions: {},
  batch: { maxRecords: 500, maxWaitMs: 200 },
});

/**
 * Writes the batch's ticks in one `postgres.insert_rows` call, retrying database outages until the actor stops.
 *
 * @throws {RowsRefusedError} When rows were refused (the others are written); not retriable.
 */
export const receive = tickSink("postgres");
