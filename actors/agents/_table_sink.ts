/**
 * What the table sinks share: their config, and a `receive` that writes each delivered batch through a
 * database's MCP tools — `<db>.ensure_table` once per table (idempotent), then one `<db>.insert_rows` call (one
 * statement) per table per batch. Each record goes to the table its topic maps to in `tables` (by default
 * market.ticks → `market_ticks` of kind `tick`, market.bars → `market_bars` (`bar`), market.alerts →
 * `market_alerts` (`alert`), market.insights → `market_insights` (`insight`); see tools/table_kinds/); a topic
 * it does not map holds ticks, written to the tick table `table` (as before there were other kinds).
 *
 * Failures:
 * - A tool call that fails (connection refused, timeout, table missing, ...) is retried **inside the handler**
 *   with exponential backoff and jitter behind a circuit breaker, until it succeeds or the actor stops
 *   (`ctx.signal`). An outage therefore holds the batch, and the dispatcher's credit window pauses the
 *   partition: good rows are never dead-lettered because the database was away. The table is ensured again
 *   before the next try, so a dropped table is re-created.
 * - A tool call is retried only when the tool's error says `retriable: true` (docs/errors.md): access denied,
 *   arguments the input schema refuses, a tool missing from the spec and errors without a flag are thrown as
 *   they are.
 * - Rows the insert reports in `errors` (refused by the database or by the kind's row schema) make the handler throw a {@linkcode RowsRefusedError} (`retriable: false`) after the
 *   other rows were written; the dispatcher splits the batch and dead-letters each refused record with that error.
 *
 * @module
 */
import { z } from "zod";
import { originalLocation } from "../../connector/original_location.ts";
import type { AgentBatch } from "../runtime/agent_batch.ts";
import type { AgentContext } from "../runtime/agent_context.ts";
import type { DeliveredRecord } from "../runtime/agent_record.ts";
import { isRetriable } from "../../core/retriable.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { backoffDelay } from "../../core/backoff_delay.ts";
import { CircuitBreaker, CircuitOpenError } from "../shared/circuit_breaker.ts";
import { TABLE_KINDS } from "../../tools/table_kinds/names.ts";
import { tableIdentifierSchema } from "../../tools/table_identifier.ts";
import { type RefusedRow, RowsRefusedError } from "./rows_refused_error.ts";

/** Where the records of one topic go. */
export const SinkTable = z.object({
  kind: z.enum(TABLE_KINDS).describe("The table kind (its schema should be the topic's)."),
  table: tableIdentifierSchema.describe("The table to create and write."),
}).strict();

/** Where the records of one topic go. */
export type SinkTable = z.infer<typeof SinkTable>;

/** The tables of the market topics, when `tables` does not name them (the tick table's name is `table`). */
export const DEFAULT_SINK_TABLES: Readonly<Record<string, SinkTable>> = {
  "market.bars": { kind: "bar", table: "market_bars" },
  "market.alerts": { kind: "alert", table: "market_alerts" },
  "market.insights": { kind: "insight", table: "market_insights" },
};

/** Config of a table sink (both databases). */
export const TableSinkConfig = z.object({
  table: tableIdentifierSchema.default("market_ticks").describe(
    "The tick table: of market.ticks and of every subscribed topic not in `tables`.",
  ),
  tables: z.record(z.string().min(1), SinkTable).default({}).describe(
    "Topic → table, for topics other than the defaults (or to override them).",
  ),
  retry: z.object({
    initialMs: z.number().int().min(1).default(200).describe("First delay, ms."),
    maxMs: z.number().int().min(1).default(10_000).describe("Largest delay, ms."),
    factor: z.number().min(1).default(2).describe("Growth per try."),
    jitter: z.number().min(0).max(1).default(0.2).describe(
      "Random spread as a fraction of the delay (0.2 = ±20 %).",
    ),
  }).prefault({}).describe(
    "Backoff between tries of a failed tool call (there is no limit on tries: the actor's stop ends them).",
  ),
  breaker: z.object({
    failureThreshold: z.number().int().min(1).default(5).describe("Consecutive failed calls that open it."),
    openMs: z.number().int().min(0).default(5_000).describe(
      "How long it stays open before a trial call, ms.",
    ),
  }).prefault({}).describe("Circuit breaker in front of the database's tools."),
});

/** The validated config of a table sink. */
export type TableSinkConfig = z.infer<typeof TableSinkConfig>;

/**
 * The table of every topic a sink maps: {@linkcode DEFAULT_SINK_TABLES}, market.ticks → `table`, then `tables`.
 *
 * @param config The validated config.
 * @returns Topic → table.
 */
export function sinkTables(config: Pick<TableSinkConfig, "table" | "tables">): Record<string, SinkTable> {
  return { "market.ticks": { kind: "tick", table: config.table }, ...DEFAULT_SINK_TABLES, ...config.tables };
}

/** The database a table sink writes; also the prefix of its tools. */
export type SinkDatabase = "postgres" | "clickhouse";

/** Metric names reported by the table sinks (labels `database`, `table`, and `outcome` for rows). */
export const SINK_ROWS = "sink_rows_total";
/** Seconds per delivered batch written (tool calls and retries included). */
export const SINK_INSERT_DURATION = "sink_insert_duration_seconds";
/** Tool calls tried again after a failure. */
export const SINK_RETRIES = "sink_retries_total";

interface InsertResult {
  inserted?: number;
  duplicates?: number;
  written?: number;
  errors: { index: number; stage: "validate" | "database"; error: string }[];
  statements: number;
}

/** A decoded Avro value as a row value: a `Date` or `bigint` becomes a number, a `Map` an object. */
function plain(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Map) return Object.fromEntries(v);
  return v;
}

/**
 * The row of a delivered value: the fields of a decoded Avro record, a `Date` or `bigint` as a number, a `Map`
 * as an object; bytes are read as JSON. The insert tool keeps the fields of the table's kind and refuses what
 * does not fit; anything that is not an object is passed on
 * for it to refuse.
 *
 * @param value A delivered record's value.
 * @returns The row to send.
 */
export function rowOf(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    try {
      value = JSON.parse(new TextDecoder().decode(value));
    } catch {
      return { value: "<bytes that are not JSON>" };
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const row: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) row[key] = plain(v);
  return row;
}

/**
 * The row of a delivered record: {@linkcode rowOf} its value, plus where the record came from
 * (`kafka_topic`, `kafka_partition`, `kafka_offset`) — the tick tables' idempotency key, so a redelivered record
 * collapses into its first write and two distinct ticks never do; the version of the other kinds' rows. A dead
 * letter replayed by `qistream dlq replay` keeps the location it was first published at (`originalLocation`),
 * so it is stored once however often it is replayed.
 *
 * @param record A delivered record.
 * @returns The row to send.
 */
export function rowOfRecord(record: DeliveredRecord): unknown {
  const row = rowOf(record.value);
  if (typeof row !== "object" || row === null || Array.isArray(row)) return row;
  const from = originalLocation(record);
  return {
    ...row,
    kafka_topic: from.topic,
    kafka_partition: from.partition,
    kafka_offset: from.offset,
  };
}

/**
 * Builds the `receive` of a table sink for one database.
 *
 * @param database `postgres` or `clickhouse` (the tools' prefix).
 * @returns The agent's `receive(batch, ctx)`; its state (tables ensured, breaker) lives in the Worker.
 */
export function tableSink(
  database: SinkDatabase,
): (batch: AgentBatch, ctx: AgentContext<TableSinkConfig>) => Promise<void> {
  const ensured = new Set<string>();
  let breaker: CircuitBreaker | undefined;
  let tables: Record<string, SinkTable> | undefined;
  const insertTool = `${database}.insert_rows`;

  /** Ensures the table when needed, then inserts: the unit a retry repeats. */
  const write = async (ctx: AgentContext<TableSinkConfig>, target: SinkTable, rows: unknown[]) => {
    const { kind, table } = target;
    if (!ensured.has(table)) {
      await ctx.tools.call(`${database}.ensure_table`, { kind, table }, { signal: ctx.signal });
      ensured.add(table);
    }
    return await ctx.tools.call(insertTool, { kind, table, rows }, { signal: ctx.signal }) as InsertResult;
  };

  const withRetry = async (
    ctx: AgentContext<TableSinkConfig>,
    target: SinkTable,
    rows: unknown[],
  ): Promise<InsertResult> => {
    const { retry, breaker: breakerConfig } = ctx.config;
    breaker ??= new CircuitBreaker({
      name: database,
      failureThreshold: breakerConfig.failureThreshold,
      openMs: breakerConfig.openMs,
      isFailure: isRetriable,
      onStateChange: (state) => ctx.log.warn("circuit {database} is now {state}", { database, state }),
    });
    for (let attempt = 0;; attempt++) {
      ctx.signal.throwIfAborted();
      try {
        return await breaker.call(() => write(ctx, target, rows));
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        if (!isRetriable(error)) throw error; // the tool's own flag (docs/errors.md)
        ensured.delete(target.table); // the table may be what is missing
        let delay = backoffDelay(attempt, retry);
        if (error instanceof CircuitOpenError) delay = Math.max(delay, error.retryAfterMs);
        ctx.metrics.inc(SINK_RETRIES, { database });
        ctx.log.warn("{tool} failed (try {attempt}), retrying in {delay} ms: {error}", {
          tool: insertTool,
          attempt: attempt + 1,
          delay,
          error: (error as Error).message,
        });
        await abortableSleep(delay, ctx.signal);
      }
    }
  };

  return async (batch, ctx) => {
    if (batch.records.length === 0) return;
    tables ??= sinkTables(ctx.config);
    // The batch's records by table, in delivery order (one insert per table).
    const groups = new Map<SinkTable, number[]>();
    const refused: RefusedRow[] = [];
    const refuse = (index: number, stage: RefusedRow["stage"], error: string) => {
      const record = batch.records[index];
      refused.push({
        index,
        topic: record?.topic ?? "?",
        partition: record?.partition ?? -1,
        offset: record?.offset ?? "?",
        stage,
        error,
      });
    };
    batch.records.forEach((record, index) => {
      const target = tables![record.topic] ?? tables!["market.ticks"]!;
      let group = groups.get(target);
      if (!group) groups.set(target, group = []);
      group.push(index);
    });
    for (const [target, indexes] of groups) {
      const started = performance.now();
      const result = await withRetry(ctx, target, indexes.map((i) => rowOfRecord(batch.records[i]!)));
      const labels = { database, table: target.table };
      ctx.metrics.observe(SINK_INSERT_DURATION, (performance.now() - started) / 1000, labels);
      const fresh = result.inserted ?? result.written ?? 0;
      if (fresh > 0) ctx.metrics.inc(SINK_ROWS, { ...labels, outcome: "written" }, fresh);
      if (result.duplicates) {
        ctx.metrics.inc(SINK_ROWS, { ...labels, outcome: "duplicate" }, result.duplicates);
      }
      if (result.errors.length === 0) continue;
      ctx.metrics.inc(SINK_ROWS, { ...labels, outcome: "refused" }, result.errors.length);
      for (const e of result.errors) refuse(indexes[e.index] ?? -1, e.stage, e.error);
    }
    if (refused.length === 0) return;
    refused.sort((a, b) => a.index - b.index);
    const names = [
      ...new Set(refused.map((r) => tables![batch.records[r.index]?.topic ?? ""]?.table ?? "none")),
    ];
    throw new RowsRefusedError(insertTool, names.join(", "), refused, batch.records.length);
  };
}
