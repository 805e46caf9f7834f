/**
 * The error `ensure_table` throws when a table of that name exists in an older layout that the tools can no
 * longer write idempotently: a column of its kind missing, or another key (for ticks: a table keyed by
 * `(symbol, source, ts)` without the provenance columns).
 *
 * @module
 */

/**
 * A table exists with an outdated layout. The message names the table, what is missing, and the statements
 * that migrate it; nothing was changed. Retriable as far as a sink is concerned: the sink holds its batches
 * (back-pressure) until someone migrates the table, it never dead-letters good records over it; the node
 * refuses to start on it.
 */
export class TableLayoutError extends Error {
  readonly database: "postgres" | "clickhouse";
  readonly table: string;
  /** What differs from the current layout, e.g. `no column kafka_offset`. */
  readonly problem: string;
  /** The statements that migrate the table, in order. */
  readonly migration: readonly string[];
  /** True: the same call succeeds once the table is migrated. */
  readonly retriable = true;

  /**
   * @param database Which database holds the table.
   * @param table The table.
   * @param problem What differs from the current layout.
   * @param migration Statements that migrate it.
   */
  constructor(
    database: "postgres" | "clickhouse",
    table: string,
    problem: string,
    migration: readonly string[],
  ) {
    super(
      `Cannot use ${database} table "${table}": it has an older layout (${problem}), so its rows cannot be ` +
        `written idempotently (for ticks: distinct ticks that share (symbol, source, ts) would be dropped as ` +
        `duplicates). Migrate it (see docs/sinks.md, "Migrating a tick table") with:\n${
          migration.map((s) => `  ${s};`).join("\n")
        }`,
    );
    this.name = "TableLayoutError";
    this.database = database;
    this.table = table;
    this.problem = problem;
    this.migration = migration;
  }
}

/**
 * The {@linkcode TableLayoutError} an error is or was caused by (the tools wrap it in a `DatabaseError`).
 *
 * @param error Any error.
 * @returns The layout error, or undefined.
 */
export function tableLayoutErrorOf(error: unknown): TableLayoutError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof TableLayoutError) return e;
  }
  return undefined;
}
