/**
 * The `postgres` tool set: `postgres.ensure_table`, `postgres.insert_rows`, `postgres.query`,
 * `postgres.describe`.
 *
 * `ensure_table` and `insert_rows` use the writer's client. `query` and `describe` never do: they run on the
 * query tools' own {@linkcode PostgresQueryPool} — a read-only role (see postgres_reader_role.ts), its own small
 * pool, a per-caller cap, statement and lock timeouts, a read-only transaction that is always rolled back, and a
 * `DISCARD ALL` before the connection is reused. The user's statement goes through the extended protocol (one
 * statement, never a multi-statement string); results are read through a cursor and capped in rows and bytes.
 * Without a pool, `query` and `describe` refuse every call and say why.
 *
 * @module
 */
import type postgres from "postgres";
import { z } from "zod";
import { insertCheckedRows } from "./_insert_checked_rows.ts";
import { missingTableHeals, postgresError } from "./database_error.ts";
import type { PostgresQueryPool } from "./postgres_query_pool.ts";
import { grantReaderSelect } from "./postgres_reader_role.ts";
import { ensurePostgresTable, insertPostgresRows, postgresRowError } from "./postgres_table.ts";
import { QueryUnavailableError } from "./query_unavailable_error.ts";
import { type CappedRows, DEFAULT_QUERY_CAPS, jsonRow, type QueryCaps, RowCollector } from "./query_caps.ts";
import { TABLE_KIND_SPECS, TABLE_KINDS } from "./table_kinds/mod.ts";
import { rowsInputSchema, tableIdentifierSchema, tableKindSchema, tableNameSchema } from "./table_rows.ts";
import { type AnyToolDefinition, defineTool } from "./tool_definition.ts";

/** Dependencies of the PostgreSQL tools. */
export interface PostgresToolsDeps {
  /** The writer's client: `ensure_table` and `insert_rows` only. */
  sql: postgres.Sql;
  /**
   * The query tools' pool (`query`, `describe`), or how to open it on first use; without it they refuse, with
   * `queryUnavailable` as the reason.
   */
  query?: PostgresQueryPool | (() => Promise<PostgresQueryPool>);
  /** Why there is no query pool, e.g. "the only role available is a superuser". */
  queryUnavailable?: string;
  /** The read-only role that `ensure_table` grants SELECT on the table it ensures. */
  readerRole?: string;
  /** Query caps; defaults in `DEFAULT_QUERY_CAPS` (the timeout is the pool's). */
  caps?: Partial<QueryCaps>;
}

/** The kinds, for the descriptions. */
const KINDS = TABLE_KINDS.map((k) => `\`${k}\` (${TABLE_KIND_SPECS[k].summary})`).join(", ");

/** Most rows one `insert_rows` call accepts. */
export const MAX_INSERT_ROWS = 50_000;

const paramSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * Builds the PostgreSQL tool definitions.
 *
 * @param deps Clients and caps.
 * @returns The four tools.
 */
export function postgresTools(deps: PostgresToolsDeps): AnyToolDefinition[] {
  const caps: QueryCaps = {
    ...DEFAULT_QUERY_CAPS,
    ...deps.caps,
    ...(deps.query && typeof deps.query !== "function"
      ? { timeoutMs: deps.query.limits.statementTimeoutMs }
      : {}),
  };
  const pool = async (): Promise<PostgresQueryPool | undefined> =>
    typeof deps.query === "function" ? await deps.query() : deps.query;
  const read = async <T>(
    caller: string,
    fn: (sql: postgres.Sql, overran: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    if (!deps.query) {
      throw new QueryUnavailableError(
        `postgres.query and postgres.describe are off: ${
          deps.queryUnavailable ?? "no read-only database role is configured"
        }`,
      );
    }
    return await (await pool())!.run(caller, fn);
  };
  return [
    defineTool({
      name: "postgres.ensure_table",
      role: "writer",
      title: "Create a PostgreSQL table (idempotent)",
      description:
        "Creates a table of a known kind if it does not exist yet; calling it again changes nothing. Kinds: " +
        `${KINDS}. A table has one column per field of the kind's Avro schema (snake_case; timestamps as ` +
        "timestamptz) and the provenance of the record each row came from (kafka_topic, kafka_partition, " +
        "kafka_offset). Kind `tick` is keyed on (symbol, source, ts, kafka_topic, kafka_partition, kafka_offset): " +
        "only a re-delivered record collapses. Kind `bar` is keyed on (symbol, source, interval, ts), `alert` and " +
        "`insight` on id: a later record with the same key replaces the row. A table whose key holds ts becomes " +
        "a TimescaleDB hypertable when the timescaledb extension is available, otherwise it gets an index on ts. " +
        "A table of another layout is refused with a TableLayoutError naming the statements that migrate it. No " +
        "arbitrary DDL is accepted. Returns {table, kind, created, hypertable}.",
      inputSchema: z.object({ kind: tableKindSchema, table: tableNameSchema }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: async ({ kind, table }) => {
        try {
          const result = await ensurePostgresTable(deps.sql, kind, table);
          // A pool opened on first use creates the reader role: open it first so the grant finds the role.
          if (typeof deps.query === "function") await pool().catch(() => {});
          if (deps.readerRole) await grantReaderSelect(deps.sql, table, deps.readerRole);
          return result;
        } catch (error) {
          throw postgresError(`ensuring table "${table}"`, error);
        }
      },
    }),
    defineTool({
      name: "postgres.insert_rows",
      role: "writer",
      title: "Insert rows into PostgreSQL (idempotent)",
      description: "Inserts a batch of rows into a table made by postgres.ensure_table, in one statement. " +
        "A row holds the kind's columns (the schema's fields in snake_case, timestamps as integer ms since the " +
        "epoch) and kafka_topic, kafka_partition, kafka_offset (decimal string); e.g. kind `tick`: {symbol, " +
        "source, exchange?, ts, price, bid?, ask?, volume?, kafka_topic, kafka_partition, kafka_offset}. " +
        "Idempotent: a re-delivered record (same provenance, or for `newest-wins` kinds an older record with the " +
        "same key) is counted as a duplicate, never written twice. Rows that fail validation or that the database " +
        "refuses are reported in `errors` ({index, stage, error}) while the other rows are written (a refused " +
        "batch is bisected to isolate the bad rows). Returns {inserted, duplicates, errors, statements}.",
      inputSchema: z.object({
        kind: tableKindSchema.default("tick"),
        table: tableNameSchema,
        rows: rowsInputSchema(MAX_INSERT_ROWS),
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: async ({ kind, table, rows }) => {
        const written = await insertCheckedRows(
          kind,
          rows,
          (part) => insertPostgresRows(deps.sql, kind, table, part),
          postgresRowError,
        ).catch((error) => {
          throw missingTableHeals(postgresError(`inserting into "${table}"`, error));
        });
        return {
          inserted: written.inserted,
          duplicates: written.accepted - written.inserted,
          errors: written.errors,
          statements: written.statements,
        };
      },
    }),
    defineTool({
      name: "postgres.query",
      role: "reader",
      title: "Query PostgreSQL (read-only)",
      description:
        "Runs one SQL statement as a read-only database role, in a READ ONLY transaction (always rolled back) " +
        `with a statement timeout of ${caps.timeoutMs} ms; any write, file access or program fails in the ` +
        "database. Use $1, $2, ... with `params`. " +
        `Returns at most ${caps.maxRows} rows and ${caps.maxBytes} bytes of JSON: {rows, rowCount, bytes, ` +
        "truncated, truncatedBy}; truncated is true when rows were left out. Timestamps come back as ISO strings.",
      inputSchema: z.object({
        sql: z.string().min(1).max(100_000).describe(
          "One SQL statement, e.g. SELECT ... FROM ticks WHERE ...",
        ),
        params: z.array(paramSchema).max(1000).default([]).describe("Values of $1, $2, ..."),
        maxRows: z.number().int().min(1).max(caps.maxRows).optional().describe("Fewer rows than the cap"),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: ({ sql: text, params, maxRows }, ctx): Promise<CappedRows> =>
        read(ctx.caller, async (tx, overran) => {
          const collector = new RowCollector({ maxRows: maxRows ?? caps.maxRows, maxBytes: caps.maxBytes });
          const query = tx.unsafe(text, params as never[], { prepare: false, simple: false } as never);
          overran.addEventListener("abort", () => query.cancel(), { once: true });
          outer: for await (const rows of query.cursor(100)) {
            for (const row of rows) if (!collector.add(jsonRow(row as Record<string, unknown>))) break outer;
          }
          return collector.result();
        }),
    }),
    defineTool({
      name: "postgres.describe",
      role: "reader",
      title: "Describe PostgreSQL tables",
      description:
        "Without `table`: lists the tables of the current schema with estimated row counts. With " +
        "`table`: its columns (name, type, nullable), primary key and estimated row count. Read-only.",
      inputSchema: z.object({ table: tableIdentifierSchema.optional() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: ({ table }, ctx) =>
        read(ctx.caller, async (tx) => {
          if (table === undefined) {
            const tables = await tx`
              SELECT c.relname AS table, greatest(c.reltuples, 0)::bigint::text AS estimated_rows
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
              ORDER BY c.relname`;
            return { tables: tables.map((t) => ({ ...t, estimated_rows: Number(t.estimated_rows) })) };
          }
          const columns = await tx`
            SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = ${table}
            ORDER BY ordinal_position`;
          if (columns.length === 0) {
            throw new RangeError(`Cannot describe table "${table}": it does not exist`);
          }
          const key = await tx`
            SELECT a.attname AS name
            FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = to_regclass(${`"${table}"`}) AND i.indisprimary
            ORDER BY array_position(i.indkey, a.attnum)`;
          const [est] = await tx`
            SELECT greatest(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = to_regclass(${`"${table}"`})`;
          return {
            table,
            columns: columns.map((c) => ({ ...c })),
            primaryKey: key.map((k) => k.name as string),
            estimatedRows: Number(est?.n ?? 0),
          };
        }),
    }),
  ];
}
