/**
 * DDL and the batch insert of the PostgreSQL tables, for every table kind (tools/table_kinds/), built from the
 * kind's columns.
 *
 * A table: one column per stored schema field (`text`, `double precision`, `bigint`, `integer`, `boolean`,
 * `timestamptz` with `CHECK (col >= 'epoch')` for timestamp-millis, `jsonb` for a map, `text[]` for an array),
 * `NOT NULL` unless the field is nullable, then the record's provenance (`kafka_topic`, `kafka_partition`,
 * `kafka_offset`), primary key the kind's key. Kind `tick` is keyed on the provenance, led by the columns queries
 * select on, and inserted with `ON CONFLICT DO NOTHING`, so a redelivered record is dropped and nothing else;
 * the other kinds are keyed on their natural key and a later record replaces the row (`newest-wins`, see
 * table_kind.ts). With the timescaledb extension a table whose key holds its time column becomes a hypertable on
 * it (a hypertable's unique keys must hold it); otherwise a plain table with an index on the time column. An
 * existing table that lacks a column or has another key (e.g. a tick table of the layout before the provenance
 * key) is refused with a {@linkcode TableLayoutError} that says how to migrate it.
 *
 * @module
 */
import type postgres from "postgres";
import { TableLayoutError } from "./table_layout_error.ts";
import type { IndexedRow } from "./table_rows.ts";
import {
  type Column,
  type ColumnType,
  type TableKind,
  tableKind,
  type TableKindName,
} from "./table_kinds/mod.ts";

/** What {@linkcode ensurePostgresTable} did. */
export interface PostgresTableResult {
  [key: string]: unknown;
  table: string;
  kind: TableKindName;
  /** false when the table already existed. */
  created: boolean;
  /** true when the table is a TimescaleDB hypertable. */
  hypertable: boolean;
}

const PG_TYPES: Record<ColumnType, string> = {
  string: "text",
  enum: "text",
  double: "double precision",
  long: "bigint",
  int: "integer",
  boolean: "boolean",
  timestamp: "timestamptz",
  string_map: "jsonb",
  string_array: "text[]",
  json: "jsonb",
};

/** The value an added `NOT NULL` column gets in the rows already there (provenance: `''`, `-1`, `-1`). */
const FILL: Record<ColumnType, string> = {
  string: "''",
  enum: "''",
  double: "0",
  long: "-1",
  int: "-1",
  boolean: "false",
  timestamp: "'epoch'",
  string_map: "'{}'",
  string_array: "'{}'",
  json: "'null'",
};

const columnDdl = (c: Column) =>
  `"${c.name}" ${PG_TYPES[c.type]}${c.nullable ? "" : " NOT NULL"}${
    c.type === "timestamp" ? ` CHECK ("${c.name}" >= 'epoch')` : ""
  }`;

/**
 * The `CREATE TABLE IF NOT EXISTS` statement of a kind's table.
 *
 * @param kind The table kind.
 * @param table A validated lowercase identifier.
 * @returns The DDL.
 */
export function postgresTableDdl(kind: TableKind, table: string): string {
  return `CREATE TABLE IF NOT EXISTS "${table}" (\n  ${kind.columns.map(columnDdl).join(",\n  ")},\n  ` +
    `PRIMARY KEY (${kind.key.map((k) => `"${k}"`).join(", ")})\n)`;
}

/**
 * Creates a kind's table if it does not exist (serialised across callers by an advisory lock), and checks that
 * an existing one has the current layout.
 *
 * @param sql A client allowed to create tables (and, optionally, the timescaledb extension).
 * @param kindName The table kind.
 * @param table A validated lowercase identifier.
 * @returns Whether it was created and whether it is a hypertable.
 * @throws {TableLayoutError} When the table exists in another layout (nothing is changed).
 */
export async function ensurePostgresTable(
  sql: postgres.Sql,
  kindName: TableKindName,
  table: string,
): Promise<PostgresTableResult> {
  const kind = tableKind(kindName);
  const q = `"${table}"`;
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`qistream.ensure_table.${table}`}))`;
    const [before] = await tx`SELECT to_regclass(${q}) IS NOT NULL AS exists`;
    await tx.unsafe(postgresTableDdl(kind, table));
    await checkPostgresLayout(tx, kind, table);
    let hypertable = false;
    const [available] =
      await tx`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`;
    if (available?.n && kind.key.includes(kind.time)) {
      try {
        await tx.savepoint(async (sp) => {
          await sp.unsafe("CREATE EXTENSION IF NOT EXISTS timescaledb");
          await sp.unsafe(`SELECT create_hypertable($1::regclass, $2, if_not_exists => TRUE)`, [
            q,
            kind.time,
          ]);
        });
        hypertable = true;
      } catch {
        hypertable = false; // extension present on disk but not loadable (shared_preload_libraries): plain table
      }
    }
    if (!hypertable) {
      await tx.unsafe(`CREATE INDEX IF NOT EXISTS "${table}_${kind.time}_idx" ON ${q} ("${kind.time}")`);
    }
    return { table, kind: kindName, created: !before?.exists, hypertable };
  });
}

/**
 * Throws a {@linkcode TableLayoutError} when the table lacks one of the kind's columns or is not keyed on the
 * kind's key; the error carries the statements that migrate it.
 *
 * @param sql A client (or transaction) that can read the catalog.
 * @param kind The table kind.
 * @param table An existing table, a validated lowercase identifier.
 */
export async function checkPostgresLayout(
  sql: postgres.Sql | postgres.TransactionSql,
  kind: TableKind,
  table: string,
): Promise<void> {
  const q = `"${table}"`;
  const columns = await sql`
    SELECT column_name AS name FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = ${table}`;
  const has = new Set(columns.map((c) => c.name as string));
  const [pk] = await sql`
    SELECT c.conname AS name,
           array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS columns
    FROM pg_constraint c WHERE c.conrelid = to_regclass(${q}) AND c.contype = 'p'`;
  const key = (pk?.columns ?? []) as string[];
  const missing = kind.columns.filter((c) => !has.has(c.name));
  const keyOk = key.join() === kind.key.join();
  if (missing.length === 0 && keyOk) return;
  const problem = [
    ...missing.map((c) => `no column ${c.name}`),
    ...(keyOk ? [] : [`primary key (${key.join(", ")})`]),
  ].join(", ");
  throw new TableLayoutError(
    "postgres",
    table,
    problem,
    postgresMigration(kind, table, missing, keyOk ? undefined : pk?.name as string ?? ""),
  );
}

/**
 * The statements that migrate a table to the kind's layout: add the missing columns (a `NOT NULL` one is
 * filled in the rows already there — provenance `''`, `-1`, `-1`, so old tick rows stay unique, as they were on
 * the old key), then key the table on the kind's key. Run them with the sinks stopped.
 *
 * @param kind The table kind.
 * @param table The table.
 * @param missing Columns to add.
 * @param primaryKey Name of its current primary-key constraint ("" for none); undefined when the key is right.
 * @returns The statements, in order.
 */
export function postgresMigration(
  kind: TableKind,
  table: string,
  missing: readonly Column[],
  primaryKey?: string,
): string[] {
  const q = `"${table}"`;
  const statements: string[] = [];
  if (missing.length) {
    statements.push(
      `ALTER TABLE ${q} ${
        missing.map((c) =>
          `ADD COLUMN IF NOT EXISTS ${c.name} ${PG_TYPES[c.type]}${
            c.nullable ? "" : ` NOT NULL DEFAULT ${FILL[c.type]}`
          }`
        ).join(", ")
      }`,
    );
  }
  if (primaryKey !== undefined) {
    statements.push(
      `ALTER TABLE ${q} ${primaryKey ? `DROP CONSTRAINT "${primaryKey}", ` : ""}ADD PRIMARY KEY (${
        kind.key.join(", ")
      })`,
    );
  }
  const filled = missing.filter((c) => !c.nullable);
  if (filled.length) {
    statements.push(
      `ALTER TABLE ${q} ${filled.map((c) => `ALTER COLUMN ${c.name} DROP DEFAULT`).join(", ")}`,
    );
  }
  return statements;
}

/** How one column travels in the insert: the array type of its bind parameter, the value, and the SELECT term. */
interface ColumnParam {
  array: string;
  value: (v: unknown) => unknown;
  select: (u: string) => string;
}

const same = (v: unknown) => v;
const asText = (v: unknown) => (v === null ? null : String(v));
const asJson = (v: unknown) => (v === null ? null : JSON.stringify(v));

const PARAMS: Record<ColumnType, ColumnParam> = {
  string: { array: "text[]", value: same, select: (u) => u },
  enum: { array: "text[]", value: same, select: (u) => u },
  double: { array: "float8[]", value: same, select: (u) => u },
  long: { array: "int8[]", value: asText, select: (u) => u },
  int: { array: "int4[]", value: same, select: (u) => u },
  boolean: { array: "bool[]", value: same, select: (u) => u },
  timestamp: {
    array: "int8[]",
    value: asText,
    select: (u) => `'epoch'::timestamptz + ${u} * interval '1 millisecond'`,
  },
  string_map: { array: "text[]", value: asJson, select: (u) => `${u}::jsonb` },
  json: { array: "text[]", value: asJson, select: (u) => `${u}::jsonb` },
  string_array: {
    array: "text[]",
    value: asJson,
    select: (u) =>
      `CASE WHEN ${u} IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(${u}::jsonb)) END`,
  },
};

const statements = new Map<string, string>();

/** The insert statement of a kind's table (one bind parameter per column, an array each). */
function insertStatement(kind: TableKind, table: string): string {
  const id = `${kind.name}\u0000${table}`;
  let text = statements.get(id);
  if (text) return text;
  const cols = kind.columns.map((c) => `"${c.name}"`).join(", ");
  const terms = kind.columns.map((c, i) => PARAMS[c.type].select(`u.c${i}`)).join(", ");
  const arrays = kind.columns.map((c, i) => `$${i + 1}::${PARAMS[c.type].array}`).join(", ");
  const aliases = kind.columns.map((_, i) => `c${i}`).join(", ");
  let conflict = "ON CONFLICT DO NOTHING";
  if (kind.conflict === "newest-wins") {
    const keep = kind.columns.filter((c) => !kind.key.includes(c.name));
    conflict = `ON CONFLICT (${
      kind.key.map((k) => `"${k}"`).join(", ")
    }) DO UPDATE SET ${
      keep.map((c) => `"${c.name}" = EXCLUDED."${c.name}"`).join(", ")
    } WHERE t.kafka_topic <> EXCLUDED.kafka_topic OR t.kafka_partition <> EXCLUDED.kafka_partition ` +
      `OR t.kafka_offset < EXCLUDED.kafka_offset`;
  }
  text =
    `INSERT INTO "${table}" AS t (${cols}) SELECT ${terms} FROM unnest(${arrays}) AS u(${aliases}) ${conflict}`;
  statements.set(id, text);
  return text;
}

/**
 * The rows of a `newest-wins` batch, one per key: a later row in the batch (delivery order) replaces an earlier
 * one, as it would in the table — one statement cannot update a row twice.
 */
function lastPerKey(kind: TableKind, rows: readonly IndexedRow[]): readonly IndexedRow[] {
  const byKey = new Map<string, IndexedRow>();
  const fields = kind.key.map((k) => kind.columns.find((c) => c.name === k)!.field);
  for (const r of rows) byKey.set(JSON.stringify(fields.map((f) => r.row[f])), r);
  return byKey.size === rows.length ? rows : [...byKey.values()];
}

/**
 * Inserts rows of a kind in one statement (arrays + `unnest`, so one bind parameter per column whatever the
 * batch size).
 *
 * @param sql The writing client.
 * @param kindName The table kind.
 * @param table A validated lowercase identifier.
 * @param rows Valid rows.
 * @returns How many rows were written (the others were re-deliveries, or older than the row there).
 */
export async function insertPostgresRows(
  sql: postgres.Sql,
  kindName: TableKindName,
  table: string,
  rows: readonly IndexedRow[],
): Promise<number> {
  const kind = tableKind(kindName);
  const part = kind.conflict === "newest-wins" ? lastPerKey(kind, rows) : rows;
  const params = kind.columns.map((c) => {
    const { value } = PARAMS[c.type];
    const fallback = c.default ?? null;
    return part.map(({ row }) => {
      const v = row[c.field];
      return value(v === undefined || v === null ? fallback : v);
    });
  });
  const result = await sql.unsafe(insertStatement(kind, table), params as never[], { prepare: true });
  return result.count;
}

/**
 * Whether a PostgreSQL error was caused by the data (SQLSTATE class 22 data exception or 23 integrity
 * constraint violation): such a batch is bisected to isolate the rows.
 *
 * @param error What the insert threw.
 * @returns The message to report per row, or undefined for other errors.
 */
export function postgresRowError(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && /^2[23]/.test(code)) {
    return `${code}: ${(error as Error).message}`;
  }
  return undefined;
}
