/**
 * DDL and the batch insert of the ClickHouse tick table.
 *
 * Table (kind `tick`): the `market.tick` v1 fields and the record's provenance (`kafka_topic`, `kafka_partition`,
 * `kafka_offset`) in a `ReplacingMergeTree()` ordered by {@linkcode TICK_KEY} — the provenance led by the
 * columns queries select on — so a redelivered record collapses into one row at merge time (read with `FINAL`
 * for exact counts before a merge), and two distinct ticks never do. A table of the old layout (ordered by
 * `(symbol, source, ts)`, no provenance) is refused with a {@linkcode TableLayoutError} that says how to migrate
 * it (ClickHouse 18.16 cannot change a sorting key: the migration copies into a new table and swaps names).
 *
 * `ts` is `UInt64` epoch milliseconds, not `DateTime64` (absent in ClickHouse 18.16) nor `DateTime` + a
 * `UInt16` millis column: one column carries the Avro `timestamp-millis` value unchanged, sorts correctly, and negative or fractional values are refused by the database itself.
 * For time functions use `toDateTime(intDiv(ts, 1000))`; the table is partitioned by month of that.
 * The old-style `ENGINE = ReplacingMergeTree() PARTITION BY ... ORDER BY ...` syntax works on 18.16 and on
 * current versions.
 *
 * @module
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { TableLayoutError } from "./table_layout_error.ts";
import { type IndexedRow, TICK_KEY } from "./tick_row.ts";

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
  volume Nullable(Float64),
  kafka_topic String,
  kafka_partition Int32,
  kafka_offset Int64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000)))
ORDER BY (${TICK_KEY.join(", ")})`;
}

/**
 * Throws a {@linkcode TableLayoutError} when the tick table `table` lacks the provenance columns or is not
 * ordered (deduplicated) by {@linkcode TICK_KEY}; the error carries the statements that migrate it.
 *
 * @param client A client that can read `system.tables` and `system.columns`.
 * @param table An existing table, a validated lowercase identifier.
 */
export async function checkClickHouseTickLayout(client: ClickHouseClient, table: string): Promise<void> {
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
  const order = /ORDER BY \(?([^)]*?)\)?(?: SETTINGS| SAMPLE| TTL|$)/.exec(engine)?.[1]?.split(/,\s*/) ?? [];
  const missing = ["kafka_topic", "kafka_partition", "kafka_offset"].filter((c) => !has.has(c));
  if (missing.length === 0 && order.join() === TICK_KEY.join()) return;
  const problem = [
    ...missing.map((c) => `no column ${c}`),
    ...(order.join() === TICK_KEY.join() ? [] : [`ORDER BY (${order.join(", ")})`]),
  ].join(", ");
  throw new TableLayoutError("clickhouse", table, problem, clickHouseTickMigration(table));
}

/**
 * The statements that migrate a tick table of the old layout: create the table anew under a temporary name,
 * copy the rows (deduplicated; rows already there get provenance `''`, `-1`, `-1` — they stay distinct, as they
 * were on the old key), then swap the names. Run them with the sinks stopped; drop `<table>_old` once checked.
 *
 * @param table The table.
 * @returns The statements, in order.
 */
export function clickHouseTickMigration(table: string): string[] {
  const next = `${table}_new`.slice(0, 63);
  return [
    clickHouseTickDdl(next).replace(/\s*\n\s*/g, " "),
    `INSERT INTO \`${next}\` SELECT symbol, source, exchange, ts, price, bid, ask, volume, '', -1, -1 FROM \`${table}\` FINAL`,
    `RENAME TABLE \`${table}\` TO \`${`${table}_old`.slice(0, 63)}\`, \`${next}\` TO \`${table}\``,
  ];
}

/**
 * Creates the tick table if it does not exist, and checks that an existing one has the current layout.
 *
 * @param client A client allowed to create tables.
 * @param table A validated lowercase identifier.
 * @returns Whether it was created.
 * @throws {TableLayoutError} When the table exists in an older layout (nothing is changed).
 */
export async function ensureClickHouseTickTable(
  client: ClickHouseClient,
  table: string,
): Promise<ClickHouseTableResult> {
  const existed = await tableExists(client, table);
  await client.command({ query: clickHouseTickDdl(table) });
  if (existed) await checkClickHouseTickLayout(client, table);
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
 * @returns The number of rows written (re-deliveries, same {@linkcode TICK_KEY}, collapse later in the engine).
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
      kafka_topic: row.kafka_topic,
      kafka_partition: row.kafka_partition,
      kafka_offset: row.kafka_offset,
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
