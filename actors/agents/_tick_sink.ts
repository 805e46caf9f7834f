/**
 * What the tick sinks share: their config, and a `receive` that writes each delivered batch of ticks through a
 * database's MCP tools — `<db>.ensure_table` once per table (idempotent), then one `<db>.insert_rows` call (one
 * statement) per batch.
 *
 * Failures:
 * - A tool call that fails (connection refused, timeout, table missing, ...) is retried **inside the handler**
 *   with exponential backoff and jitter behind a circuit breaker, until it succeeds or the actor stops
 *   (`ctx.signal`). An outage therefore holds the batch, and the dispatcher's credit window pauses the
 *   partition: good rows are never dead-lettered because the database was away. The table is ensured again
 *   before the next try, so a dropped table is re-created.
 * - Calls that cannot succeed by retrying — refused by access control (`AccessDenied`), arguments refused by the
 *   tool's input schema, `RangeError`/`TypeError` from the tool, a tool missing from the spec — are thrown as
 *   they are.
 * - Rows the insert reports in `errors` (refused by the database or by the tool's tick schema) make the handler
 *   throw a {@linkcode RowsRefusedError} (`retriable: false`) after the other rows were written; the dispatcher
 *   splits the batch and dead-letters each refused record with that error.
 *
 * @module
 */
import { z } from "zod";
import { originalLocation } from "../../connector/original_location.ts";
import type { AgentBatch } from "../runtime/agent_batch.ts";
import type { AgentContext } from "../runtime/agent_context.ts";
import type { DeliveredRecord } from "../runtime/agent_record.ts";
import { ToolCallError } from "../runtime/tool_call_error.ts";
import { abortableSleep } from "../shared/abortable_sleep.ts";
import { backoffDelay } from "../shared/backoff_delay.ts";
import { CircuitBreaker, CircuitOpenError } from "../shared/circuit_breaker.ts";
import { tableIdentifierSchema } from "../../tools/tick_row.ts";
import { type RefusedRow, RowsRefusedError } from "./rows_refused_error.ts";

/** Config of a tick sink (both databases). */
export const TickSinkConfig = z.object({
  table: tableIdentifierSchema.default("market_ticks").describe("Table to create (kind `tick`) and write."),
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

/** The validated config of a tick sink. */
export type TickSinkConfig = z.infer<typeof TickSinkConfig>;

/** The database a tick sink writes; also the prefix of its tools. */
export type TickDatabase = "postgres" | "clickhouse";

/** Metric names reported by the tick sinks (labels `database`, `table`, and `outcome` for rows). */
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

const TICK_FIELDS = ["symbol", "source", "exchange", "ts", "price", "bid", "ask", "volume"] as const;

/**
 * The tick row of a delivered value: the `market.tick` fields of a decoded Avro record (a `Date` or `bigint`
 * `ts` becomes milliseconds); bytes are read as JSON. Anything else is passed on for the tool to refuse.
 *
 * @param value A delivered record's value.
 * @returns The row to send.
 */
export function tickRowOf(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    try {
      value = JSON.parse(new TextDecoder().decode(value));
    } catch {
      return { value: "<bytes that are not JSON>" };
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const field of TICK_FIELDS) if (v[field] !== undefined) row[field] = v[field];
  if (row.ts instanceof Date) row.ts = row.ts.getTime();
  else if (typeof row.ts === "bigint") row.ts = Number(row.ts);
  return row;
}

/**
 * The row of a delivered record: {@linkcode tickRowOf} its value, plus where the record came from
 * (`kafka_topic`, `kafka_partition`, `kafka_offset`) — the tables' idempotency key, so a redelivered record
 * collapses into its first write and two distinct ticks never do. A dead letter replayed by `qistream dlq
 * replay` keeps the location it was first published at (`originalLocation`), so it is stored once however often
 * it is replayed.
 *
 * @param record A delivered record.
 * @returns The row to send.
 */
export function tickRowOfRecord(record: DeliveredRecord): unknown {
  const row = tickRowOf(record.value);
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
 * Whether a failed tool call may succeed later (retry it) or never will (throw it).
 *
 * @param error What `ctx.tools.call` rejected with.
 * @returns false for access denials, input validation errors, bad-argument errors and local refusals.
 */
export function isRetriableToolFailure(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return true;
  if (!(error instanceof ToolCallError)) return false;
  if (error.remoteName === undefined) return false; // refused locally: not in spec.tools, no port, aborted
  if (["AccessDenied", "RangeError", "TypeError", "ZodError"].includes(error.remoteName)) return false;
  return !/Input validation error|MCP error -32602/.test(error.message);
}

/**
 * Builds the `receive` of a tick sink for one database.
 *
 * @param database `postgres` or `clickhouse` (the tools' prefix).
 * @returns The agent's `receive(batch, ctx)`; its state (tables ensured, breaker) lives in the Worker.
 */
export function tickSink(
  database: TickDatabase,
): (batch: AgentBatch, ctx: AgentContext<TickSinkConfig>) => Promise<void> {
  const ensured = new Set<string>();
  let breaker: CircuitBreaker | undefined;
  const insertTool = `${database}.insert_rows`;

  /** Ensures the table when needed, then inserts: the unit a retry repeats. */
  const write = async (ctx: AgentContext<TickSinkConfig>, rows: unknown[]): Promise<InsertResult> => {
    const { table } = ctx.config;
    if (!ensured.has(table)) {
      await ctx.tools.call(`${database}.ensure_table`, { kind: "tick", table }, { signal: ctx.signal });
      ensured.add(table);
    }
    return await ctx.tools.call(insertTool, { kind: "tick", table, rows }, {
      signal: ctx.signal,
    }) as InsertResult;
  };

  const withRetry = async (ctx: AgentContext<TickSinkConfig>, rows: unknown[]): Promise<InsertResult> => {
    const { retry, breaker: breakerConfig } = ctx.config;
    breaker ??= new CircuitBreaker({
      name: database,
      failureThreshold: breakerConfig.failureThreshold,
      openMs: breakerConfig.openMs,
      isFailure: isRetriableToolFailure,
      onStateChange: (state) => ctx.log.warn("circuit {database} is now {state}", { database, state }),
    });
    for (let attempt = 0;; attempt++) {
      ctx.signal.throwIfAborted();
      try {
        return await breaker.call(() => write(ctx, rows));
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        if (!isRetriableToolFailure(error)) throw error;
        ensured.delete(ctx.config.table); // the table may be what is missing
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
    const started = performance.now();
    const { table } = ctx.config;
    const result = await withRetry(ctx, batch.records.map(tickRowOfRecord));
    const labels = { database, table };
    ctx.metrics.observe(SINK_INSERT_DURATION, (performance.now() - started) / 1000, labels);
    const fresh = result.inserted ?? result.written ?? 0;
    if (fresh > 0) ctx.metrics.inc(SINK_ROWS, { ...labels, outcome: "written" }, fresh);
    if (result.duplicates) ctx.metrics.inc(SINK_ROWS, { ...labels, outcome: "duplicate" }, result.duplicates);
    if (result.errors.length === 0) return;
    ctx.metrics.inc(SINK_ROWS, { ...labels, outcome: "refused" }, result.errors.length);
    const refused: RefusedRow[] = result.errors.map((e) => {
      const record = batch.records[e.index];
      return {
        index: e.index,
        topic: record?.topic ?? "?",
        partition: record?.partition ?? -1,
        offset: record?.offset ?? "?",
        stage: e.stage,
        error: e.error,
      };
    });
    throw new RowsRefusedError(insertTool, table, refused, batch.records.length);
  };
}
