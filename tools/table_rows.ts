/**
 * The rows the `*.insert_rows` tools accept, for every table kind (tools/table_kinds/): the kind's columns by
 * name — the schema's fields in snake_case, timestamps in milliseconds since the epoch as in the Avro record —
 * and the provenance of the record each came from (`kafka_topic`, `kafka_partition`, `kafka_offset` as a decimal
 * string). One bad row is reported by its index; the others are written.
 *
 * @module
 */
import { z } from "zod";
import { tableIdentifierSchema } from "./table_identifier.ts";
import { type Row, TABLE_KINDS, tableKind, type TableKindName } from "./table_kinds/mod.ts";

/** A row the tool or the database refused, by its index in the request. */
export interface RowError {
  /** Index of the row in the request's `rows`. */
  index: number;
  /** `validate`: refused by the kind's row schema; `database`: refused by the database. */
  stage: "validate" | "database";
  /** Why. */
  error: string;
}

/** A valid row with its index in the request. */
export interface IndexedRow {
  index: number;
  row: Row;
}

/**
 * Checks request rows against a kind's row schema.
 *
 * @param kind The table kind.
 * @param rows The request's rows, as received.
 * @returns Valid rows (only the kind's columns, with their indexes) and per-row errors.
 */
export function validateRows(kind: TableKindName, rows: readonly unknown[]): {
  valid: IndexedRow[];
  errors: RowError[];
} {
  const { check } = tableKind(kind).rows;
  const valid: IndexedRow[] = [];
  const errors: RowError[] = [];
  rows.forEach((raw, index) => {
    const checked = check(raw);
    if (checked.row) valid.push({ index, row: checked.row });
    else errors.push({ index, stage: "validate", error: checked.error });
  });
  return { valid, errors };
}

export { tableIdentifierSchema };

/** {@linkcode tableIdentifierSchema} defaulting to `ticks`. */
export const tableNameSchema = tableIdentifierSchema.default("ticks").describe(
  "Table name (lowercase identifier); default ticks",
);

/** Zod schema of the `kind` argument. */
export const tableKindSchema = z.enum(TABLE_KINDS).describe("Table kind");

/**
 * The `rows` argument of the `*.insert_rows` tools: any values (each is checked against the kind's row schema
 * in the handler, so that one bad row is reported by index instead of failing the call), advertised as rows of
 * one of the kinds.
 *
 * @param max Most rows per call.
 * @returns The zod schema.
 */
export function rowsInputSchema(max: number): z.ZodType<unknown[]> {
  const anyOf = TABLE_KINDS.map((name) => {
    const { $schema: _, ...json } = z.toJSONSchema(tableKind(name).rows.schema, { io: "input" });
    return { ...json, title: `${name} row` };
  });
  return z.array(z.unknown().meta({ anyOf })).max(max).describe("Rows to insert, of the table's kind");
}
