/**
 * The ClickHouse sink: writes every delivered batch of `market.tick` records into a `ReplacingMergeTree` tick
 * table (ordered by the natural key symbol, source, ts; DDL that works on ClickHouse 18.16 and current
 * versions) through the `clickhouse.*` MCP tools — `clickhouse.ensure_table` once, then one
 * `clickhouse.insert_rows` call (one `INSERT ... FORMAT JSONEachRow`) per batch. Redelivered rows collapse in
 * the engine: count with `FINAL`. It has no network of its own; the main program offers the tools when
 * `CLICKHOUSE_URL` is set. Failures: see actors/agents/_tick_sink.ts and docs/sinks.md.
 *
 * @module
 */
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { tickSink, TickSinkConfig } from "./_tick_sink.ts";

/** Config of the ClickHouse sink: `table` (default `market_ticks`), `retry`, `breaker`. */
export const ClickHouseSinkConfig = TickSinkConfig;

/** The ClickHouse sink's spec: its two tools, no permissions. */
export const spec: AgentKindSpec<TickSinkConfig> = defineAgent({
  name: "clickhouse-sink",
  summary:
    "Writes market ticks to ClickHouse through the clickhouse MCP tools, idempotently (ReplacingMergeTree)",
  role: "consumer",
  config: ClickHouseSinkConfig,
  connections: { requires: ["clickhouse"] },
  tools: ["clickhouse.ensure_table", "clickhouse.insert_rows"],
  permissions: {},
  batch: { maxRecords: 2000, maxWaitMs: 500 },
});

/**
 * Writes the batch's ticks in one `clickhouse.insert_rows` call, retrying database outages until the actor stops.
 *
 * @throws {RowsRefusedError} When rows were refused (the others are written); not retriable.
 */
export const receive = tickSink("clickhouse");
