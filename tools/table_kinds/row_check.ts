/**
 * The row validator of a table kind, built from its columns: a zod schema (its messages, and the JSON Schema the
 * `*.insert_rows` tools advertise) and a fast check that accepts a well-formed row without building zod issues —
 * anything else goes through the zod schema, whose verdict and messages are final, so the result is always the
 * schema's.
 *
 * @module
 */
import { z } from "zod";
import type { Column } from "./column.ts";

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
    case "json":
      t = z.json();
      break;
  }
  t = t.describe(column.type === "timestamp" ? `${doc} (integer ms since the epoch)` : doc);
  if (column.nullable) return t.nullish();
  return column.default === undefined ? t : t.optional();
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isStringMap = (v: unknown) => isPlainObject(v) && Object.values(v).every((x) => typeof x === "string");
const isStringArray = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");

/** The test of one present value of a column, as a JavaScript expression over `v`. */
function testOf(column: Column, inKey: boolean, enumSet: string): string {
  if (!column.fromSchema && column.name === "kafka_partition") {
    return `Number.isInteger(v) && v >= 0 && v <= ${MAX_PARTITION}`;
  }
  if (!column.fromSchema && column.name === "kafka_offset") return `typeof v === "string" && OFFSET.test(v)`;
  switch (column.type) {
    case "string":
      return inKey || !column.fromSchema ? `typeof v === "string" && v.length > 0` : `typeof v === "string"`;
    case "enum":
      return `typeof v === "string" && ${enumSet}.has(v)`;
    case "double":
      return "Number.isFinite(v)";
    case "long":
    case "timestamp":
      return "Number.isSafeInteger(v)";
    case "int":
      return `Number.isInteger(v) && v >= ${-INT32} && v < ${INT32}`;
    case "boolean":
      return `typeof v === "boolean"`;
    case "string_map":
      return "isStringMap(v)";
    case "string_array":
      return "isStringArray(v)";
    case "json":
      return "true";
  }
}

/**
 * The fast check, compiled for the kind's columns (as validators such as ajv do): plain property reads and one
 * object literal, which V8 keeps monomorphic — a generic loop over the columns was ~10× slower on the tick
 * insert path. Returns the row, or undefined for anything it does not accept as it is.
 */
function compileFast(columns: readonly Column[], key: readonly string[]): (raw: unknown) => Row | undefined {
  const sets: Set<string>[] = [];
  const lines: string[] = ['if (typeof r !== "object" || r === null || Array.isArray(r)) return undefined;'];
  const required: string[] = [];
  const optional: string[] = [];
  columns.forEach((c) => {
    const f = JSON.stringify(c.field);
    let enumSet = "";
    if (c.type === "enum") {
      enumSet = `sets[${sets.length}]`;
      sets.push(new Set(c.symbols));
    }
    const test = testOf(c, key.includes(c.name), enumSet);
    lines.push(`{ const v = r[${f}];`);
    if (c.nullable) lines.push(`if (v !== undefined && v !== null && !(${test})) return undefined; }`);
    else if (c.default !== undefined) lines.push(`if (v !== undefined && !(${test})) return undefined; }`);
    else lines.push(`if (v === undefined || v === null || !(${test})) return undefined; }`);
    if (c.nullable || c.default !== undefined) optional.push(`if (${f} in r) row[${f}] = r[${f}];`);
    else required.push(`${f}: r[${f}]`);
  });
  lines.push(`const row = { ${required.join(", ")} };`, ...optional, "return row;");
  const make = new Function(
    "OFFSET",
    "sets",
    "isStringMap",
    "isStringArray",
    `return (r) => {\n${lines.join("\n")}\n};`,
  );
  return make(OFFSET, sets, isStringMap, isStringArray);
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
  const fast = compileFast(columns, key);
  const check = (raw: unknown): CheckedRow => {
    const row = fast(raw);
    if (row) return { row };
    const parsed = schema.safeParse(raw);
    if (parsed.success) return { row: parsed.data as Row };
    return { error: parsed.error.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ") };
  };
  return { schema: schema as unknown as z.ZodType<Row>, check };
}
