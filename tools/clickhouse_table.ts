/**
 * DDL and the batch insert of the ClickHouse tables, for every table kind (tools/table_kinds/), built from the
 * kind's columns.
 *
 * A table: one column per stored schema field (`String`, `Float64`, `Int64`, `Int32`, `UInt8`, `UInt64` epoch
 * milliseconds for timestamp-millis, `String` holding JSON for a map, `Array(String)` for an array),
 * `Nullable(...)` when the field is nullable, then the record's provenance (`kafka_topic`, `kafka_partition`,
 * `kafka_offset`), in a `ReplacingMergeTree` ordered by the kind's key, so rows with the same key collapse at
 * merge time (read with `FINAL` for exact results before a merge). Kind `tick` is keyed on the provenance, led
 * by the columns queries select on: a redelivered record collapses, two distinct ticks never do. The other kinds
 * are keyed on their natural key with `kafka_offset` (`UInt64`) as the engine's version column, so the row of the
 * latest record stays (`newest-wins`, see table_kind.ts). A table whose key holds its time column is partitioned
 * by month of it. An existing table that lacks a column or is ordered otherwise (e.g. a tick table of the layout
 * before the provenance key) is refused with a {@linkcode TableLayoutError} that says how to migrate it
 * (ClickHouse 18.16 cannot change a sorting key: the migration copies into a new table and swaps names).
 *
 * Timestamps are `UInt64` epoch milliseconds, not `DateTime64` (absent in ClickHouse 18.16) nor `DateTime` + a
 * millis column: one column carries the Avro `timestamp-millis` value unchanged, sorts correctly, and negative
 * or fractional values are refused by the database itself. For time functions use `toDateTime(intDiv(ts, 1000))`.
 * The old-style `ENGINE = ReplacingMergeTree() PARTITION BY ... ORDER BY ...` syntax works on 18.16 and on
 * current versions.
 *
 * @module
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { TableLayoutError } from "./table_layout_error.ts";
import type { IndexedRow } from "./table_rows.ts";
import {
  type Column,
  type ColumnType,
  type TableKind,
  tableKind,
  type TableKindName,
} from "./table_kinds/mod.ts";

/** What {@linkcode ensureClickHouseTable} did. */
export interface ClickHouseTableResult {
  [key: string]: unknown;
  table: string;
  kind: TableKindName;
  /** false when the table already existed. */
  created: boolean;
  engine: string;
}

const CH_TYPES: Record<ColumnType, string> = {
  string: "String",
  enum: "String",
  double: "Float64",
  long: "Int64",
  int: "Int32",
  boolean: "UInt8",
  timestamp: "UInt64",
  string_map: "String",
  string_array: "Array(String)",
  json: "String",
};

/** The ClickHouse type of a column of a kind (`kafka_offset` is the version column of `newest-wins` kinds). */
function clickHouseType(kind: TableKind, c: Column): string {
  const base = c.name === "kafka_offset" && kind.conflict === "newest-wins" ? "UInt64" : CH_TYPES[c.type];
  return c.nullable && c.type !== "string_array" ? `Nullable(${base})` : base;
}

/**
 * The `CREATE TABLE IF NOT EXISTS` statement of a kind's table.
 *
 * @param kindName The table kind.
 * @param table A validated lowercase identifier.
 * @returns The DDL.
 */
export function clickHouseTableDdl(kindName: TableKindName, table: string): string {
  const kind = tableKind(kindName);
  const engine = kind.conflict === "newest-wins"
    ? "ReplacingMergeTree(kafka_offset)"
    : "ReplacingMergeTree()";
  const partition = kind.key.includes(kind.time)
    ? `\nPARTITION BY toYYYYMM(toDateTime(intDiv(${kind.time}, 1000)))`
    : "";
  return `CREATE TABLE IF NOT EXISTS \`${table}\` (\n${
    kind.columns.map((c) => `  \`${c.name}\` ${clickHouseType(kind, c)}`).join(",\n")
  }\n) ENGINE = ${engine}${partition}\nORDER BY (${kind.key.map((k) => `\`${k}\``).join(", ")})`;
}

/**
 * Throws a {@linkcode TableLayoutError} when the table lacks one of the kind's columns or is not ordered
 * (deduplicated) by the kind's key; the error carries the statements that migrate it.
 *
 * @param client A client that can read `system.tables` and `system.columns`.
 * @param kindName The table kind.
 * @param table An existing table, a validated lowercase identifier.
 */
export async function checkClickHouseLayout(
  client: ClickHouseClient,
  kindName: TableKindName,
  table: string,
): Promise<void> {
  const kind = tableKind(kindName);
  const cols = await client.query({
    query: `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '${table}'`,
    format: "JSONEachRow",
  });
  const has = new Set((await cols.json<{ name: string }>()).map((c) => c.name));
  const meta = await client.query({
    query: `SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`,
    format: "JSONEachRow",
  });
  const engine = (await meta.json<{ engine_full: string }>())[0]?.engine_full ?? "";
  const order =
    /ORDER BY \(?([^)]*?)\)?(?: SETTINGS| SAMPLE| TTL|$)/.exec(engine)?.[1]?.replaceAll("`", "").split(
      /,\s*/,
    ) ?? [];
  const missing = kind.columns.filter((c) => !has.has(c.name));
  const orderOk = order.join() === kind.key.join();
  if (missing.length === 0 && orderOk) return;
  const problem = [
    ...missing.map((c) => `no column ${c.name}`),
    ...(orderOk ? [] : [`ORDER BY (${order.join(", ")})`]),
  ].join(", ");
  throw new TableLayoutError("clickhouse", table, problem, clickHouseMigration(kindName, table, has));
}

/** The value a column gets in rows copied from a table that lacks it (provenance `''`, `-1`, `-1`). */
const FILL: Record<ColumnType, string> = {
  string: "''",
  enum: "''",
  double: "0",
  long: "-1",
  int: "-1",
  boolean: "0",
  timestamp: "0",
  string_map: "'{}'",
  string_array: "[]",
  json: "'null'",
};

/**
 * The statements that migrate a table to the kind's layout: create the table anew under a temporary name, copy
 * the rows (deduplicated; a column the old table lacks gets NULL, or for provenance `''`, `-1`, `-1` — old tick
 * rows stay distinct, as they were on the old key), then swap the names. Run them with the sinks stopped; drop
 * `<table>_old` once checked.
 *
 * @param kindName The table kind.
 * @param table The table.
 * @param has The columns the old table has.
 * @returns The statements, in order.
 */
export function clickHouseMigration(
  kindName: TableKindName,
  table: string,
  has: ReadonlySet<string>,
): string[] {
  const kind = tableKind(kindName);
  const next = `${table}_new`.slice(0, 63);
  const select = kind.columns.map((c) =>
    has.has(c.name) ? `\`${c.name}\`` : c.nullable ? "NULL" : FILL[c.type]
  );
  return [
    clickHouseTableDdl(kindName, next).replace(/\s*\n\s*/g, " "),
    `INSERT INTO \`${next}\` SELECT ${select.join(", ")} FROM \`${table}\` FINAL`,
    `RENAME TABLE \`${table}\` TO \`${`${table}_old`.slice(0, 63)}\`, \`${next}\` TO \`${table}\``,
  ];
}

/**
 * Creates a kind's table if it does not exist, and checks that an existing one has the current layout.
 *
 * @param client A client allowed to create tables.
 * @param kindName The table kind.
 * @param table A validated lowercase identifier.
 * @returns Whether it was created.
 * @throws {TableLayoutError} When the table exists in another layout (nothing is changed).
 */
export async function ensureClickHouseTable(
  client: ClickHouseClient,
  kindName: TableKindName,
  table: string,
): Promise<ClickHouseTableResult> {
  const existed = await tableExists(client, table);
  await client.command({ query: clickHouseTableDdl(kindName, table) });
  if (existed) await checkClickHouseLayout(client, kindName, table);
  return { table, kind: kindName, created: !existed, engine: "ReplacingMergeTree" };
}

/**
 * Whether a table exists in the client's database.
 *
 * @param client The client.
 * @param table Table name.
 * @returns true when it exists.
 */
export async function tableExists(client: ClickHouseClient, table: string): Promise<boolean> {
  const rs = await client.query({ query: `EXISTS TABLE \`${table}\``, format: "JSONEachRow" });
  const [row] = await rs.json<{ result: number | string }>();
  return Number(row?.result) === 1;
}

/** A row's value as the JSONEachRow insert sends it. */
function valueOf(c: Column, v: unknown): unknown {
  if (v === undefined || v === null) v = c.default ?? null;
  if (v === null) return c.type === "string_array" ? [] : null;
  if (c.type === "string_map" || c.type === "json") return JSON.stringify(v);
  if (c.type === "boolean") return v ? 1 : 0;
  return v;
}

/**
 * Inserts rows of a kind in one `INSERT ... FORMAT JSONEachRow`.
 *
 * @param client The writing client.
 * @param kindName The table kind.
 * @param table A validated lowercase identifier.
 * @param rows Valid rows.
 * @returns The number of rows written (rows with the same key collapse later in the engine).
 */
export async function insertClickHouseRows(
  client: ClickHouseClient,
  kindName: TableKindName,
  table: string,
  rows: readonly IndexedRow[],
): Promise<number> {
  const { columns } = tableKind(kindName);
  await client.insert({
    table: `\`${table}\``,
    format: "JSONEachRow",
    values: rows.map(({ row }) => {
      const out: Record<string, unknown> = {};
      for (const c of columns) out[c.name] = valueOf(c, row[c.field]);
      return out;
    }),
  });
  return rows.length;
}

/** ClickHouse error codes caused by the data of an insert (parse and conversion errors). */
const ROW_ERROR_CODES = new Set([6, 26, 27, 32, 33, 38, 41, 53, 69, 70, 72, 117, 131, 349]);

/**
 * The numeric ClickHouse error code of an error (`code` of a parsed `ClickHouseError`, or `Code: N` in the
 * message, which is how 18.16 formats errors).
 *
 * @param error What the client threw.
 * @returns The code, or undefined.
 */
export function clickHouseErrorCode(error: unknown): number | undefined {
  const code = Number((error as { code?: unknown })?.code);
  if (Number.isInteger(code) && code > 0) return code;
  const m = error instanceof Error ? /Code: (\d+)/.exec(error.message) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * Whether a ClickHouse insert error was caused by the data: such a batch is bisected to isolate the rows.
 *
 * @param error What the insert threw.
 * @returns The message to report per row, or undefined for other errors.
 */
export function clickHouseRowError(error: unknown): string | undefined {
  const code = clickHouseErrorCode(error);
  if (code === undefined || !ROW_ERROR_CODES.has(code)) return undefined;
  return `${code}: ${(error as Error).message.replace(/\s+/g, " ").trim()}`;
}
