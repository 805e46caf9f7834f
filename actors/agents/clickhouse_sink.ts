/**
 * The ClickHouse sink: writes every delivered batch into the `ReplacingMergeTree` table its records' topic maps
 * to (ticks, bars, alerts, insights by default; see actors/agents/_table_sink.ts; DDL that works on ClickHouse
 * 18.16 and current versions) through the `clickhouse.*` MCP tools — `clickhouse.ensure_table` once per table,
 * then one `clickhouse.insert_rows` call (one `INSERT ... FORMAT JSONEachRow`) per table per batch. Rows with the
 * same key collapse in the engine: read with `FINAL`. It has no network of its own; the main program offers the
 * tools when `CLICKHOUSE_URL` is set. Failures: see actors/agents/_table_sink.ts and docs/sinks.md.
 *
 * @module
 */
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { tableSink, TableSinkConfig } from "./_table_sink.ts";

/** Config of the ClickHouse sink: `table` (default `market_ticks`), `tables`, `retry`, `breaker`. */
export const ClickHouseSinkConfig = TableSinkConfig;

/** The ClickHouse sink's spec: its two tools, no permissions. */
export const spec: AgentKindSpec<TableSinkConfig> = defineAgent({
  name: "clickhouse-sink",
  summary:
    "Writes market ticks, bars, alerts and insights to ClickHouse through the clickhouse MCP tools, idempotently (ReplacingMergeTree)",
  role: "consumer",
  config: ClickHouseSinkConfig,
  connections: { requires: ["clickhouse"] },
  tools: ["clickhouse.ensure_table", "clickhouse.insert_rows"],
  permissions: {},
  batch: { maxRecords: 2000, maxWaitMs: 500 },
});

/**
 * Writes the batch's records in one `clickhouse.insert_rows` call per table, retrying database outages until
 * the actor stops.
 *
 * @throws {RowsRefusedError} When rows were refused (the others are written); not retriable.
 */
export const receive = tableSink("clickhouse");
