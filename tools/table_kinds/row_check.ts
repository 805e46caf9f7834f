/**
 * The row validator of a table kind, built from its columns: a zod schema (its messages, and the JSON Schema the
 * `*.insert_rows` tools advertise) and a fast check that accepts a well-formed row without building zod issues —
 * anything else goes through the zod schema, whose verdict and messages are final, so the result is always the
 * schema's.
 *
 * @module
 */
import { z } from "zod";
import type { Column, ColumnType } from "./column.ts";

/** Largest partition number (Kafka partitions are a 32-bit signed int). */
const MAX_PARTITION = 2 ** 31 - 1;
/** A Kafka offset as a decimal string of at most 19 digits (the database refuses one above 2^63 - 1). */
const OFFSET = /^(0|[1-9][0-9]{0,18})$/;
const INT32 = 2 ** 31;

/** One row of a table kind: field name (as in the schema) → value (timestamps in ms since the epoch). */
export type Row = Record<string, unknown>;

/** One request row after a kind's check: the row (only its columns), or why it is not one. */
export type CheckedRow<R = Row> = { row: R; error?: undefined } | { row?: undefined; error: string };

/** The row validator of one kind. */
export interface RowCheck<R = Row> {
  /** The zod schema of a row. */
  readonly schema: z.ZodType<R>;
  /** Checks one request row; the result always agrees with `schema`. */
  check(raw: unknown): CheckedRow<R>;
}

function zodOf(column: Column, inKey: boolean): z.ZodType {
  const doc = column.doc ?? column.field;
  let t: z.ZodType;
  switch (column.fromSchema ? "" : column.name) {
    case "kafka_partition":
      return z.number().int().min(0).max(MAX_PARTITION).describe(doc);
    case "kafka_offset":
      return z.string().regex(OFFSET, "expected a decimal offset").describe(doc);
  }
  switch (column.type) {
    case "string":
      t = inKey || column.name === "kafka_topic" ? z.string().min(1) : z.string();
      break;
    case "enum":
      t = z.enum(column.symbols as [string, ...string[]]);
      break;
    case "double":
      t = z.number();
      break;
    case "long":
      t = z.number().int();
      break;
    case "int":
      t = z.number().int().min(-INT32).max(INT32 - 1);
      break;
    case "boolean":
      t = z.boolean();
      break;
    case "timestamp":
      t = z.number().int().describe(`${doc} (integer ms since the epoch)`);
      break;
    case "string_map":
      t = z.record(z.string(), z.string());
      break;
    case "string_array":
      t = z.array(z.string());
      break;
  }
  t = t.describe(column.type === "timestamp" ? `${doc} (integer ms since the epoch)` : doc);
  if (column.nullable) return t.nullish();
  return column.default === undefined ? t : t.optional();
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const TESTS: Record<ColumnType, (v: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  enum: () => false, // replaced per column
  double: (v) => Number.isFinite(v),
  long: (v) => Number.isSafeInteger(v),
  int: (v) => Number.isInteger(v) && (v as number) >= -INT32 && (v as number) < INT32,
  boolean: (v) => typeof v === "boolean",
  timestamp: (v) => Number.isSafeInteger(v),
  string_map: (v) => isPlainObject(v) && Object.values(v).every((x) => typeof x === "string"),
  string_array: (v) => Array.isArray(v) && v.every((x) => typeof x === "string"),
};

/** How the fast check treats one column. */
interface FastColumn {
  field: string;
  test: (v: unknown) => boolean;
  /** Absent (or null) is fine; the key is copied only when present. */
  optional: boolean;
  /** null is fine. */
  nullable: boolean;
}

function fastOf(column: Column, inKey: boolean): FastColumn {
  let test = TESTS[column.type];
  if (column.type === "enum") {
    const symbols = new Set(column.symbols);
    test = (v) => typeof v === "string" && symbols.has(v);
  }
  if (!column.fromSchema && column.name === "kafka_partition") {
    test = (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_PARTITION;
  }
  if (!column.fromSchema && column.name === "kafka_offset") {
    test = (v) => typeof v === "string" && OFFSET.test(v);
  }
  if (column.type === "string" && (inKey || (!column.fromSchema && column.name === "kafka_topic"))) {
    test = (v) => typeof v === "string" && v.length > 0;
  }
  return {
    field: column.field,
    test,
    optional: column.nullable || column.default !== undefined,
    nullable: column.nullable,
  };
}

/**
 * Builds the validator of the rows of the given columns.
 *
 * @param columns The kind's columns (data and provenance).
 * @param key The kind's key (column names): its string columns must not be empty.
 * @returns The zod schema and the fast check.
 * @example
 * ```ts
 * const { check } = rowCheck(tableKind("tick").columns, tableKind("tick").key);
 * check({ symbol: "BTC-USD", ts: 1.5 }).error; // "source: Invalid input: ...; ts: ..."
 * ```
 */
export function rowCheck(columns: readonly Column[], key: readonly string[]): RowCheck {
  const schema = z.object(Object.fromEntries(columns.map((c) => [c.field, zodOf(c, key.includes(c.name))])));
  const fast = columns.map((c) => fastOf(c, key.includes(c.name)));
  const check = (raw: unknown): CheckedRow => {
    if (isPlainObject(raw)) {
      const row: Row = {};
      let ok = true;
      for (const c of fast) {
        const v = raw[c.field];
        if (v === undefined || v === null) {
          if (v === null ? !c.nullable : !c.optional) {
            ok = false;
            break;
          }
          if (c.field in raw) row[c.field] = v;
        } else if (c.test(v)) row[c.field] = v;
        else {
          ok = false;
          break;
        }
      }
      if (ok) return { row };
    }
    const parsed = schema.safeParse(raw);
    if (parsed.success) return { row: parsed.data as Row };
    return { error: parsed.error.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ") };
  };
  return { schema: schema as unknown as z.ZodType<Row>, check };
}
