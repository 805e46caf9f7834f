/**
 * The body of every `*.insert_rows` tool: split the request's checked rows into valid rows and validation
 * errors, write the valid ones with {@linkcode insertIsolating}, and report every row error in request order.
 *
 * @module
 */
import { insertIsolating } from "./insert_isolating.ts";
import type { TableKindName } from "./table_kinds/mod.ts";
import { type IndexedRow, type RowError, validateRows } from "./table_rows.ts";

/** What {@linkcode insertCheckedRows} reports. */
export interface InsertCheckedRowsResult {
  /** Rows that passed validation and that the database did not refuse. */
  readonly accepted: number;
  /** What `insert` returned, summed: rows newly inserted (or written, for a database that cannot tell). */
  readonly inserted: number;
  /** Statements sent (more than one when a refused batch was bisected). */
  readonly statements: number;
  /** Validation errors (stage `validate`) and refusals (stage `database`), sorted by row index. */
  readonly errors: RowError[];
}

/**
 * Inserts the valid rows of a request and collects every per-row error.
 *
 * @param kind The table kind: its row schema checks each row.
 * @param rows The request's rows, as received.
 * @param insert Writes rows in one statement; returns how many were newly inserted (or written).
 * @param rowError Returns a message when an error is a refusal caused by the data, `undefined` otherwise.
 * @returns Accepted and inserted counts, statements used and the per-row errors.
 * @throws The first error that `rowError` does not classify as a data refusal.
 *
 * @example
 * ```ts
 * const r = await insertCheckedRows("tick", rows, (part) => insertPostgresRows(sql, "tick", table, part), postgresRowError);
 * console.log(`${r.inserted} new, ${r.accepted - r.inserted} duplicates, ${r.errors.length} errors`);
 * ```
 */
export async function insertCheckedRows(
  kind: TableKindName,
  rows: readonly unknown[],
  insert: (rows: readonly IndexedRow[]) => Promise<number>,
  rowError: (error: unknown) => string | undefined,
): Promise<InsertCheckedRowsResult> {
  const { valid, errors } = validateRows(kind, rows);
  const written = await insertIsolating(valid, insert, rowError);
  return {
    accepted: valid.length - written.errors.length,
    inserted: written.inserted,
    statements: written.statements,
    errors: [...errors, ...written.errors].sort((a, b) => a.index - b.index),
  };
}
