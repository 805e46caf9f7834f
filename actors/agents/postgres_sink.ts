/**
 * The PostgreSQL / TimescaleDB sink: writes every delivered batch into the table its records' topic maps to
 * (ticks, bars, alerts, insights by default; see actors/agents/_table_sink.ts) through the `postgres.*` MCP
 * tools — `postgres.ensure_table` once per table (a hypertable when timescaledb is available and the key holds
 * the time column), then one `postgres.insert_rows` call per table per batch: one `INSERT ... SELECT FROM
 * unnest(...) ON CONFLICT ...` statement, so redelivered batches never duplicate rows. It has no network of its
 * own; with no `DATABASE_URL`, the main program serves the tools from embedded PostgreSQL
 * (tools/embedded_postgres.ts). Failures: see actors/agents/_table_sink.ts and docs/sinks.md.
 *
 * @module
 */
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { tableSink, TableSinkConfig } from "./_table_sink.ts";

/** Config of the PostgreSQL sink: `table` (default `market_ticks`), `tables`, `retry`, `breaker`. */
export const PostgresSinkConfig = TableSinkConfig;

/** The PostgreSQL sink's spec: its two tools, no permissions. */
export const spec: AgentKindSpec<TableSinkConfig> = defineAgent({
  name: "postgres-sink",
  summary:
    "Writes market ticks, bars, alerts and insights to PostgreSQL/TimescaleDB through the postgres MCP tools, idempotently",
  role: "consumer",
  config: PostgresSinkConfig,
  tools: ["postgres.ensure_table", "postgres.insert_rows"],
  permissions: {},
  batch: { maxRecords: 500, maxWaitMs: 200 },
});

/**
 * Writes the batch's records in one `postgres.insert_rows` call per table, retrying database outages until the
 * actor stops.
 *
 * @throws {RowsRefusedError} When rows were refused (the others are written); not retriable.
 */
export const receive = tableSink("postgres");
