/**
 * The row the `*.insert_rows` tools accept for table kind `tick`: the fields of `market.tick` v1
 * (schemas/market.tick/v1.avsc), `ts` in milliseconds since the epoch as in the Avro record. The natural key is
 * (`symbol`, `source`, `ts`).
 *
 * @module
 */
import { z } from "zod";

/** Zod schema of one tick row. */
export const tickRowSchema = z.object({
  symbol: z.string().min(1).describe("Normalised instrument symbol, e.g. BTC-USD"),
  source: z.string().min(1).describe("Publisher that produced the tick, e.g. cryptocompare"),
  exchange: z.string().nullish().describe("Venue, when known"),
  ts: z.number().int().describe("Event time, integer milliseconds since the epoch (UTC)"),
  price: z.number().describe("Last traded price"),
  bid: z.number().nullish().describe("Best bid"),
  ask: z.number().nullish().describe("Best ask"),
  volume: z.number().nullish().describe("Volume over the source's window"),
});

/** One tick row. */
export type TickRow = z.infer<typeof tickRowSchema>;

/** The table kinds the tools can create and write; callers never send DDL. */
export const TABLE_KINDS = ["tick"] as const;

/** One of {@linkcode TABLE_KINDS}. */
export type TableKind = typeof TABLE_KINDS[number];

/** A row the tool or the database refused, by its index in the request. */
export interface RowError {
  /** Index of the row in the request's `rows`. */
  index: number;
  /** `validate`: refused by the tool's schema; `database`: refused by the database. */
  stage: "validate" | "database";
  /** Why. */
  error: string;
}

/** A valid row with its index in the request. */
export interface IndexedRow {
  index: number;
  row: TickRow;
}

/**
 * Splits request rows into valid tick rows and per-row validation errors.
 *
 * @param rows The request's rows, as received.
 * @returns Valid rows (with their indexes) and errors.
 */
export function validateTickRows(rows: readonly unknown[]): { valid: IndexedRow[]; errors: RowError[] } {
  const valid: IndexedRow[] = [];
  const errors: RowError[] = [];
  rows.forEach((raw, index) => {
    const parsed = tickRowSchema.safeParse(raw);
    if (parsed.success) valid.push({ index, row: parsed.data });
    else {
      const error = parsed.error.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ");
      errors.push({ index, stage: "validate", error });
    }
  });
  return { valid, errors };
}

/** Zod schema of a table identifier: a plain lowercase SQL identifier (quoted by the tools anyway). */
export const tableIdentifierSchema = z.string().regex(
  /^[a-z_][a-z0-9_]{0,62}$/,
  "expected a lowercase identifier",
)
  .describe("Table name (lowercase identifier)");

/** {@linkcode tableIdentifierSchema} defaulting to `ticks`. */
export const tableNameSchema = tableIdentifierSchema.default("ticks").describe(
  "Table name (lowercase identifier); default ticks",
);
