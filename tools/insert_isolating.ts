/**
 * Writes a batch in one statement and, when the database refuses it because of some rows, isolates them by
 * bisection: the batch is split in halves and each half retried, down to single rows. Safe only because every
 * insert is idempotent on the natural key (a half that was written is never written twice). A batch with k bad
 * rows out of n costs about `1 + 2k·log2(n)` statements; a clean batch costs one.
 *
 * @module
 */
import type { IndexedRow, RowError } from "./table_rows.ts";

/**
 * Inserts `rows`, isolating refused rows.
 *
 * @param rows Valid rows with their request indexes.
 * @param insert Writes rows in one statement; returns how many were newly inserted (or written).
 * @param rowError Returns a message when an error is a refusal caused by the data (bisect), `undefined` for any
 *   other error (connection lost, timeout, ...), which is rethrown so the whole call fails and can be retried.
 * @returns Rows inserted, statements used and per-row errors (stage `database`).
 * @throws The first error that `rowError` does not classify as a data refusal.
 */
export async function insertIsolating(
  rows: readonly IndexedRow[],
  insert: (rows: readonly IndexedRow[]) => Promise<number>,
  rowError: (error: unknown) => string | undefined,
): Promise<{ inserted: number; statements: number; errors: RowError[] }> {
  let statements = 0;
  const errors: RowError[] = [];
  const attempt = async (part: readonly IndexedRow[]): Promise<number> => {
    if (part.length === 0) return 0;
    statements++;
    try {
      return await insert(part);
    } catch (error) {
      const message = rowError(error);
      if (message === undefined) throw error;
      if (part.length === 1) {
        errors.push({ index: part[0]!.index, stage: "database", error: message });
        return 0;
      }
      const mid = Math.ceil(part.length / 2);
      return await attempt(part.slice(0, mid)) + await attempt(part.slice(mid));
    }
  };
  const inserted = await attempt(rows);
  errors.sort((a, b) => a.index - b.index);
  return { inserted, statements, errors };
}
