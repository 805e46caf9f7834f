/**
 * The error a sink's handler throws when the database (or the tool's validation) refused some rows of a batch.
 *
 * @module
 */

/** One refused row: where it came from and why. */
export interface RefusedRow {
  /** Index of the row in the batch. */
  index: number;
  topic: string;
  partition: number;
  offset: string;
  /** `validate`: the tool's tick schema refused it; `database`: the database did. */
  stage: "validate" | "database";
  /** The reason, e.g. `23514: new row for relation "market_ticks" violates check constraint ...`. */
  error: string;
}

/**
 * Some rows of a batch were refused; the others were written (idempotently). Not retriable: the dispatcher
 * splits the batch at once and dead-letters each refused record with this error, while the halves holding
 * only good rows are written again as duplicates (no effect).
 */
export class RowsRefusedError extends Error {
  /** The insert tool, e.g. `postgres.insert_rows`. */
  readonly tool: string;
  readonly table: string;
  /** The refused rows, in batch order. */
  readonly rows: readonly RefusedRow[];
  /** Rows in the batch. */
  readonly batchSize: number;
  /** Always false: the same rows are refused again. */
  readonly retriable = false;

  /**
   * @param tool The insert tool.
   * @param table The table.
   * @param rows The refused rows (at least one).
   * @param batchSize Rows in the batch.
   */
  constructor(tool: string, table: string, rows: readonly RefusedRow[], batchSize: number) {
    const shown = rows.slice(0, 5).map((r) =>
      `${r.topic}/${r.partition}@${r.offset} (${r.stage}): ${r.error}`
    );
    const more = rows.length > shown.length ? `; and ${rows.length - shown.length} more` : "";
    super(
      `${tool} refused ${rows.length} of ${batchSize} rows for table ${table}: ${shown.join("; ")}${more}`,
    );
    this.name = "RowsRefusedError";
    this.tool = tool;
    this.table = table;
    this.rows = rows;
    this.batchSize = batchSize;
  }
}
