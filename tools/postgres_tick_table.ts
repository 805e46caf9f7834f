/**
 * DDL and the batch insert of the PostgreSQL tick table.
 *
 * Table (kind `tick`): the `market.tick` v1 fields, `ts timestamptz`, the record's provenance (`kafka_topic`,
 * `kafka_partition`, `kafka_offset`), primary key {@linkcode TICK_KEY} — the provenance led by the columns
 * queries select on, so `ON CONFLICT DO NOTHING` drops a redelivered record and nothing else — and
 * `CHECK (ts >= 'epoch')`. With the timescaledb extension it becomes a hypertable on `ts` (the key holds `ts`, as
 * a hypertable's unique keys must); without it, a plain table with an index on `ts`. A table of the old layout
 * (key `(symbol, source, ts)`, no provenance) is refused with a {@linkcode TableLayoutError} that says how to
 * migrate it.
 *
 * @module
 */
import type postgres from "postgres";
import { TableLayoutError } from "./table_layout_error.ts";
import { type IndexedRow, TICK_KEY } from "./tick_row.ts";

/** What {@linkcode ensurePostgresTickTable} did. */
export interface PostgresTableResult {
  [key: string]: unknown;
  table: string;
  kind: "tick";
  /** false when the table already existed. */
  created: boolean;
  /** true when the table is a TimescaleDB hypertable. */
  hypertable: boolean;
}

/**
 * Creates the tick table if it does not exist (serialised across callers by an advisory lock), and checks
 * that an existing one has the current layout.
 *
 * @param sql A client allowed to create tables (and, optionally, the timescaledb extension).
 * @param table A validated lowercase identifier.
 * @returns Whether it was created and whether it is a hypertable.
 * @throws {TableLayoutError} When the table exists in an older layout (nothing is changed).
 */
export async function ensurePostgresTickTable(
  sql: postgres.Sql,
  table: string,
): Promise<PostgresTableResult> {
  const q = `"${table}"`;
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`qistream.ensure_table.${table}`}))`;
    const [before] = await tx`SELECT to_regclass(${q}) IS NOT NULL AS exists`;
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS ${q} (
        symbol text NOT NULL,
        source text NOT NULL,
        exchange text,
        ts timestamptz NOT NULL CHECK (ts >= 'epoch'),
        price double precision NOT NULL,
        bid double precision,
        ask double precision,
        volume double precision,
        kafka_topic text NOT NULL,
        kafka_partition integer NOT NULL,
        kafka_offset bigint NOT NULL,
        PRIMARY KEY (${TICK_KEY.join(", ")})
      )`,
    );
    await checkPostgresTickLayout(tx, table);
    let hypertable = false;
    const [available] =
      await tx`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`;
    if (available?.n) {
      try {
        await tx.savepoint(async (sp) => {
          await sp.unsafe("CREATE EXTENSION IF NOT EXISTS timescaledb");
          await sp.unsafe(`SELECT create_hypertable($1::regclass, 'ts', if_not_exists => TRUE)`, [q]);
        });
        hypertable = true;
      } catch {
        hypertable = false; // extension present on disk but not loadable (shared_preload_libraries): plain table
      }
    }
    if (!hypertable) await tx.unsafe(`CREATE INDEX IF NOT EXISTS "${table}_ts_idx" ON ${q} (ts)`);
    return { table, kind: "tick" as const, created: !before?.exists, hypertable };
  });
}

/**
 * Throws a {@linkcode TableLayoutError} when the tick table `table` lacks the provenance columns or is not keyed
 * on {@linkcode TICK_KEY}; the error carries the statements that migrate it.
 *
 * @param sql A client (or transaction) that can read the catalog.
 * @param table An existing table, a validated lowercase identifier.
 */
export async function checkPostgresTickLayout(sql: postgres.Sql | postgres.TransactionSql, table: string) {
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
  const missing = ["kafka_topic", "kafka_partition", "kafka_offset"].filter((c) => !has.has(c));
  if (missing.length === 0 && key.join() === TICK_KEY.join()) return;
  const problem = [
    ...missing.map((c) => `no column ${c}`),
    ...(key.join() === TICK_KEY.join() ? [] : [`primary key (${key.join(", ")})`]),
  ].join(", ");
  throw new TableLayoutError("postgres", table, problem, postgresTickMigration(table, pk?.name as string));
}

/**
 * The statements that migrate a tick table of the old layout: add the provenance columns (rows already there
 * get `''`, `-1`, `-1`: they stay unique, as they were on the old key), then key the table on
 * {@linkcode TICK_KEY}. Run them with the sinks stopped.
 *
 * @param table The table.
 * @param primaryKey Name of its primary-key constraint, if it has one.
 * @returns The statements, in order.
 */
export function postgresTickMigration(table: string, primaryKey?: string): string[] {
  const q = `"${table}"`;
  const cols = [["kafka_topic", "text", "''"], ["kafka_partition", "integer", "-1"], [
    "kafka_offset",
    "bigint",
    "-1",
  ]];
  return [
    `ALTER TABLE ${q} ${
      cols.map(([c, type, dflt]) => `ADD COLUMN IF NOT EXISTS ${c} ${type} NOT NULL DEFAULT ${dflt}`).join(
        ", ",
      )
    }`,
    `ALTER TABLE ${q} ${primaryKey ? `DROP CONSTRAINT "${primaryKey}", ` : ""}ADD PRIMARY KEY (${
      TICK_KEY.join(", ")
    })`,
    `ALTER TABLE ${q} ${cols.map(([c]) => `ALTER COLUMN ${c} DROP DEFAULT`).join(", ")}`,
  ];
}

/**
 * Inserts tick rows in one statement (arrays + `unnest`, so 11 bind parameters whatever the batch size).
 *
 * @param sql The writing client.
 * @param table A validated lowercase identifier.
 * @param rows Valid rows.
 * @returns How many rows were new (the others were re-deliveries: their key, {@linkcode TICK_KEY}, was there).
 */
export async function insertPostgresTicks(
  sql: postgres.Sql,
  table: string,
  rows: readonly IndexedRow[],
): Promise<number> {
  const col = <T>(f: (r: IndexedRow["row"]) => T) => rows.map(({ row }) => f(row));
  const result = await sql.unsafe(
    `INSERT INTO "${table}" (symbol, source, exchange, ts, price, bid, ask, volume, kafka_topic,
                             kafka_partition, kafka_offset)
     SELECT u.symbol, u.source, u.exchange, 'epoch'::timestamptz + u.ts_ms * interval '1 millisecond',
            u.price, u.bid, u.ask, u.volume, u.kafka_topic, u.kafka_partition, u.kafka_offset
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[], $7::float8[],
                 $8::float8[], $9::text[], $10::int4[], $11::int8[])
          AS u(symbol, source, exchange, ts_ms, price, bid, ask, volume, kafka_topic, kafka_partition, kafka_offset)
     ON CONFLICT DO NOTHING`,
    [
      col((r) => r.symbol),
      col((r) => r.source),
      col((r) => r.exchange ?? null),
      col((r) => String(r.ts)),
      col((r) => r.price),
      col((r) => r.bid ?? null),
      col((r) => r.ask ?? null),
      col((r) => r.volume ?? null),
      col((r) => r.kafka_topic),
      col((r) => r.kafka_partition),
      col((r) => r.kafka_offset),
    ] as never[],
    { prepare: true },
  );
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
