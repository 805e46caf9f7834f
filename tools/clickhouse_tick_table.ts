/**
 * DDL and the batch insert of the ClickHouse tick table.
 *
 * Table (kind `tick`): `ReplacingMergeTree()` ordered by the natural key (symbol, source, ts), so a redelivered
 * row collapses into the first one at merge time (read with `FINAL` for exact counts before a merge).
 *
 * `ts` is `UInt64` epoch milliseconds, not `DateTime64` (absent in ClickHouse 18.16) nor `DateTime` + a
 * `UInt16` millis column: one column carries the Avro `timestamp-millis` value unchanged, keeps the natural key
 * three columns wide, sorts correctly, and negative or fractional values are refused by the database itself.
 * For time functions use `toDateTime(intDiv(ts, 1000))`; the table is partitioned by month of that.
 * The old-style `ENGINE = ReplacingMergeTree() PARTITION BY ... ORDER BY ...` syntax works on 18.16 and on
 * current versions.
 *
 * @module
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { IndexedRow } from "./tick_row.ts";

/** What {@linkcode ensureClickHouseTickTable} did. */
export interface ClickHouseTableResult {
  [key: string]: unknown;
  table: string;
  kind: "tick";
  /** false when the table already existed. */
  created: boolean;
  engine: string;
}

/**
 * The `CREATE TABLE IF NOT EXISTS` statement of the tick table.
 *
 * @param table A validated lowercase identifier.
 * @returns The DDL.
 */
export function clickHouseTickDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS \`${table}\` (
  symbol String,
  source String,
  exchange Nullable(String),
  ts UInt64,
  price Float64,
  bid Nullable(Float64),
  ask Nullable(Float64),
  volume Nullable(Float64)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000)))
ORDER BY (symbol, source, ts)`;
}

/**
 * Creates the tick table if it does not exist.
 *
 * @param client A client allowed to create tables.
 * @param table A validated lowercase identifier.
 * @returns Whether it was created.
 */
export async function ensureClickHouseTickTable(
  client: ClickHouseClient,
  table: string,
): Promise<ClickHouseTableResult> {
  const existed = await tableExists(client, table);
  await client.command({ query: clickHouseTickDdl(table) });
  return { table, kind: "tick", created: !existed, engine: "ReplacingMergeTree" };
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

/**
 * Inserts tick rows in one `INSERT ... FORMAT JSONEachRow`.
 *
 * @param client The writing client.
 * @param table A validated lowercase identifier.
 * @param rows Valid rows.
 * @returns The number of rows written (duplicates are collapsed later by the engine).
 */
export async function insertClickHouseTicks(
  client: ClickHouseClient,
  table: string,
  rows: readonly IndexedRow[],
): Promise<number> {
  await client.insert({
    table: `\`${table}\``,
    format: "JSONEachRow",
    values: rows.map(({ row }) => ({
      symbol: row.symbol,
      source: row.source,
      exchange: row.exchange ?? null,
      ts: row.ts,
      price: row.price,
      bid: row.bid ?? null,
      ask: row.ask ?? null,
      volume: row.volume ?? null,
    })),
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
