/**
 * DDL and the batch insert of the PostgreSQL tick table.
 *
 * Table (kind `tick`): the `market.tick` v1 fields, `ts timestamptz`, primary key (symbol, source, ts) — the
 * natural key, so `ON CONFLICT DO NOTHING` makes redelivery harmless — and `CHECK (ts >= 'epoch')`. With the
 * timescaledb extension it becomes a hypertable on `ts`; without it, a plain table with an index on `ts`.
 *
 * @module
 */
import type postgres from "postgres";
import type { IndexedRow } from "./tick_row.ts";

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
 * Creates the tick table if it does not exist (serialised across callers by an advisory lock).
 *
 * @param sql A client allowed to create tables (and, optionally, the timescaledb extension).
 * @param table A validated lowercase identifier.
 * @returns Whether it was created and whether it is a hypertable.
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
        PRIMARY KEY (symbol, source, ts)
      )`,
    );
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
 * Inserts tick rows in one statement (arrays + `unnest`, so 8 bind parameters whatever the batch size).
 *
 * @param sql The writing client.
 * @param table A validated lowercase identifier.
 * @param rows Valid rows.
 * @returns How many rows were new (the others were duplicates of the natural key).
 */
export async function insertPostgresTicks(
  sql: postgres.Sql,
  table: string,
  rows: readonly IndexedRow[],
): Promise<number> {
  const col = <T>(f: (r: IndexedRow["row"]) => T) => rows.map(({ row }) => f(row));
  const result = await sql.unsafe(
    `INSERT INTO "${table}" (symbol, source, exchange, ts, price, bid, ask, volume)
     SELECT u.symbol, u.source, u.exchange, 'epoch'::timestamptz + u.ts_ms * interval '1 millisecond',
            u.price, u.bid, u.ask, u.volume
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[], $7::float8[],
                 $8::float8[]) AS u(symbol, source, exchange, ts_ms, price, bid, ask, volume)
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
