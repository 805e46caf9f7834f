/**
 * The `clickhouse` tool set: `clickhouse.ensure_table`, `clickhouse.insert_rows`, `clickhouse.query`,
 * `clickhouse.describe`.
 *
 * Read-only guarantee of `query` and `describe`: they run on their own client, logged in as a separate read-only
 * user ({@linkcode ClickHouseQueryAccess}; without one they refuse and say why), and every statement is sent with
 * the query-level setting `readonly=1` (set last, after the result limits), so ClickHouse refuses any write, DDL,
 * `SET` or table function; the HTTP interface refuses multi-statements. A separate user matters: in readonly mode
 * a user may still `KILL QUERY` its own user's queries — the sink's, were it the writer. When the user's profile is
 * already `readonly=1`, ClickHouse accepts no other setting, so the limits come from that profile. Otherwise the
 * server caps the result (`max_result_rows`, `max_result_bytes`, `result_overflow_mode=break`,
 * `max_execution_time`). Either way the tool reads the result as a stream and stops at the row and JSON-byte caps,
 * saying so in `truncated`, and a caller has at most `perCaller` queries running.
 *
 * @module
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import { clickHouseRowError, ensureClickHouseTable, insertClickHouseRows } from "./clickhouse_table.ts";
import { insertCheckedRows } from "./_insert_checked_rows.ts";
import type { CallerLimit } from "./caller_limit.ts";
import { clickHouseError, missingTableHeals } from "./database_error.ts";
import { QueryUnavailableError } from "./query_unavailable_error.ts";
import { type CappedRows, DEFAULT_QUERY_CAPS, type QueryCaps, RowCollector } from "./query_caps.ts";
import { TABLE_KIND_SPECS, TABLE_KINDS } from "./table_kinds/mod.ts";
import { rowsInputSchema, tableIdentifierSchema, tableKindSchema, tableNameSchema } from "./table_rows.ts";
import { type AnyToolDefinition, defineTool } from "./tool_definition.ts";

/** How `query` and `describe` reach ClickHouse. */
export interface ClickHouseQueryAccess {
  /** A client of their own, logged in as a read-only user (never the writer's client). */
  client: ClickHouseClient;
  /** Send the limits with every query (the user's own `readonly` is 0); false when its profile has readonly=1. */
  limitsInQuery: boolean;
  /** The per-caller concurrency cap. */
  callers: CallerLimit;
  /** What it runs as, for messages. */
  describe: string;
}

/** Dependencies of the ClickHouse tools. */
export interface ClickHouseToolsDeps {
  /** The writer's client: `ensure_table` and `insert_rows` only. */
  client: ClickHouseClient;
  /**
   * The query tools' access, or how to open it on first use; without it `query` and `describe` refuse, with
   * `queryUnavailable` as the reason.
   */
  query?: ClickHouseQueryAccess | (() => Promise<ClickHouseQueryAccess>);
  /** Why there is no query access. */
  queryUnavailable?: string;
  /** Query caps; defaults in `DEFAULT_QUERY_CAPS`. */
  caps?: Partial<QueryCaps>;
}

/** The kinds, for the descriptions. */
const KINDS = TABLE_KINDS.map((k) => `\`${k}\` (${TABLE_KIND_SPECS[k].summary})`).join(", ");

/** Most rows one `insert_rows` call accepts. */
export const MAX_CLICKHOUSE_INSERT_ROWS = 50_000;

/**
 * Query-level settings that make a ClickHouse query read-only and bounded. `readonly` comes last: once it is
 * applied, the server refuses to change any other setting.
 *
 * @param caps The caps.
 * @param limitsInQuery false for a user whose profile is readonly=1 (it accepts no other setting).
 * @returns `clickhouse_settings` for the client.
 */
export function readOnlySettings(caps: QueryCaps, limitsInQuery = true): Record<string, string | number> {
  if (!limitsInQuery) return { readonly: "1" };
  return {
    max_result_rows: String(caps.maxRows + 1),
    max_result_bytes: String(caps.maxBytes * 4 + (1 << 20)),
    result_overflow_mode: "break",
    max_execution_time: Math.max(1, Math.ceil(caps.timeoutMs / 1000)),
    readonly: "1",
  };
}

/**
 * Runs one read-only query and collects capped rows. The statement is sent unchanged (`exec`, with the
 * `default_format=JSONEachRow` setting instead of an appended FORMAT clause), so whatever it is, the server parses
 * and refuses it; a statement with its own FORMAT clause is not supported.
 *
 * @param client The client.
 * @param query One statement.
 * @param caps Caps.
 * @param params Query parameters (`{name:Type}` placeholders; ClickHouse 19.11+).
 * @param limitsInQuery See {@linkcode readOnlySettings}.
 * @returns The capped rows.
 */
export async function readOnlyQuery(
  client: ClickHouseClient,
  query: string,
  caps: QueryCaps,
  params?: Record<string, unknown>,
  limitsInQuery = true,
): Promise<CappedRows> {
  const { stream } = await client.exec({
    query,
    clickhouse_settings: { default_format: "JSONEachRow", ...readOnlySettings(caps, limitsInQuery) } as never,
    ...(params && Object.keys(params).length ? { query_params: params } : {}),
  });
  const collector = new RowCollector(caps);
  const decoder = new TextDecoder();
  let pending = "";
  const take = (line: string): boolean => {
    if (line.trim() === "") return true;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      throw new Error(`ClickHouse query failed while streaming: ${line.slice(0, 500)}`);
    }
    return collector.add(row);
  };
  let full = false;
  try {
    outer: for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!take(line)) {
          full = true;
          break outer;
        }
      }
    }
    if (!full) take(pending + decoder.decode());
  } finally {
    stream.destroy();
  }
  return collector.result();
}

/**
 * Builds the ClickHouse tool definitions.
 *
 * @param deps Clients and caps.
 * @returns The four tools.
 */
export function clickHouseTools(deps: ClickHouseToolsDeps): AnyToolDefinition[] {
  const caps: QueryCaps = { ...DEFAULT_QUERY_CAPS, ...deps.caps };
  const read = async <T>(
    caller: string,
    fn: (
      query: (sql: string, c?: QueryCaps, params?: Record<string, unknown>) => Promise<CappedRows>,
    ) => Promise<T>,
  ): Promise<T> => {
    if (!deps.query) {
      throw new QueryUnavailableError(
        `clickhouse.query and clickhouse.describe are off: ${
          deps.queryUnavailable ?? "no read-only ClickHouse user is configured"
        }`,
      );
    }
    const access = typeof deps.query === "function" ? await deps.query() : deps.query;
    return await access.callers.run(
      caller,
      () =>
        fn((sql, c = caps, params) =>
          readOnlyQuery(access.client, sql, c, params, access.limitsInQuery).catch((error) => {
            if (error instanceof RangeError) throw error;
            throw clickHouseError("running the query", error);
          })
        ),
    );
  };
  return [
    defineTool({
      name: "clickhouse.ensure_table",
      role: "writer",
      title: "Create a ClickHouse table (idempotent)",
      description:
        "Creates a table of a known kind if it does not exist yet; calling it again changes nothing. Kinds: " +
        `${KINDS}. A table has one column per field of the kind's Avro schema (snake_case; timestamps as UInt64 ` +
        "epoch ms, maps as JSON strings) and the provenance of the record each row came from (kafka_topic, " +
        "kafka_partition, kafka_offset), in a ReplacingMergeTree ordered by the kind's key: `tick` (symbol, " +
        "source, ts, kafka_topic, kafka_partition, kafka_offset), so re-deliveries of a record collapse and " +
        "distinct records never do; `bar` (symbol, source, interval, ts), `alert` and `insight` (id), with " +
        "kafka_offset as the version, so the latest record's row stays. Query with FINAL for exact results. A " +
        "table of another layout is refused with a TableLayoutError naming the statements that migrate it. No " +
        "arbitrary DDL is accepted. Returns {table, kind, created, engine}.",
      inputSchema: z.object({ kind: tableKindSchema, table: tableNameSchema }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: ({ kind, table }) =>
        ensureClickHouseTable(deps.client, kind, table).catch((error) => {
          throw clickHouseError(`ensuring table "${table}"`, error);
        }),
    }),
    defineTool({
      name: "clickhouse.insert_rows",
      role: "writer",
      title: "Insert rows into ClickHouse (idempotent)",
      description: "Inserts a batch of rows into a table made by clickhouse.ensure_table, in one INSERT " +
        "(JSONEachRow). A row holds the kind's columns (the schema's fields in snake_case, timestamps as " +
        "integer ms since the epoch, >= 0) and kafka_topic, kafka_partition, kafka_offset (decimal string); e.g. " +
        "kind `tick`: {symbol, source, exchange?, ts, price, bid?, ask?, volume?, kafka_topic, kafka_partition, " +
        "kafka_offset}. Idempotent on the kind's key: the engine collapses rows with the same key in the " +
        "background, so `written` counts rows sent, not new rows (query with FINAL for exact counts). Rows that " +
        "fail validation or that the database refuses are reported in `errors` ({index, stage, error}) while the " +
        "other rows are written (a refused batch is bisected). Returns {written, errors, statements}.",
      inputSchema: z.object({
        kind: tableKindSchema.default("tick"),
        table: tableNameSchema,
        rows: rowsInputSchema(MAX_CLICKHOUSE_INSERT_ROWS),
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: async ({ kind, table, rows }) => {
        const written = await insertCheckedRows(
          kind,
          rows,
          (part) => insertClickHouseRows(deps.client, kind, table, part),
          clickHouseRowError,
        ).catch((error) => {
          throw missingTableHeals(clickHouseError(`inserting into "${table}"`, error));
        });
        return { written: written.inserted, errors: written.errors, statements: written.statements };
      },
    }),
    defineTool({
      name: "clickhouse.query",
      role: "reader",
      title: "Query ClickHouse (read-only)",
      description:
        "Runs one SQL statement with readonly=1 (any write, DDL or SET fails in the database) and " +
        `max_execution_time ${Math.ceil(caps.timeoutMs / 1000)} s. Optional \`params\` fill {name:Type} ` +
        `placeholders (ClickHouse 19.11+). Returns at most ${caps.maxRows} rows and ${caps.maxBytes} bytes of ` +
        "JSON: {rows, rowCount, bytes, truncated, truncatedBy}. UInt64/Int64 values come back as strings; tick " +
        "`ts` is epoch ms (toDateTime(intDiv(ts, 1000)) for a time).",
      inputSchema: z.object({
        sql: z.string().min(1).max(100_000).describe(
          "One statement, e.g. SELECT ... FROM ticks FINAL WHERE ...",
        ),
        params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional()
          .describe("Values of {name:Type} placeholders"),
        maxRows: z.number().int().min(1).max(caps.maxRows).optional().describe("Fewer rows than the cap"),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: ({ sql, params, maxRows }, ctx) =>
        read(ctx.caller, (query) => query(sql, { ...caps, maxRows: maxRows ?? caps.maxRows }, params)),
    }),
    defineTool({
      name: "clickhouse.describe",
      role: "reader",
      title: "Describe ClickHouse tables",
      description:
        "Without `table`: lists the tables of the current database with their engines. With `table`: " +
        "its columns (name, type), full engine clause (ORDER BY is the dedup key) and row count. Read-only.",
      inputSchema: z.object({ table: tableIdentifierSchema.optional() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: ({ table }, ctx) =>
        read(ctx.caller, async (query) => {
          if (table === undefined) {
            const r = await query(
              "SELECT name AS table, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name",
            );
            return { tables: r.rows, truncated: r.truncated };
          }
          const meta = await query(
            `SELECT engine, engine_full FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`,
          );
          if (meta.rows.length === 0) {
            throw new RangeError(`Cannot describe table "${table}": it does not exist`);
          }
          const columns = await query(`DESCRIBE TABLE \`${table}\``);
          const count = await query(`SELECT count() AS n FROM \`${table}\``);
          return {
            table,
            columns: columns.rows.map((c) => ({ name: c.name, type: c.type })),
            engine: meta.rows[0]?.engine,
            engineFull: meta.rows[0]?.engine_full,
            rows: Number(count.rows[0]?.n ?? 0),
          };
        }),
    }),
  ];
}
