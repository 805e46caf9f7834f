/**
 * The columns of a table kind, derived from its Avro record schema (schemas/<name>/vN.avsc): one column per
 * field, named in snake_case (`alertId` → `alert_id`), typed from the Avro type, nullable when the type is a
 * union with `null`; then the provenance columns of the record a row came from. The databases' DDL, the row
 * validator and the inserts are all built from these, so a field added to the schema is a column everywhere.
 *
 * @module
 */

/**
 * A column's type, as the Avro types the table kinds use map to it: `timestamp` is a `long` with logical type
 * `timestamp-millis` (milliseconds since the epoch); `enum` a string that is one of `symbols`; `string_map` a
 * `map` of strings; `string_array` an `array` of strings; `json` any other complex type (a record, a map or
 * array of anything else, a union of several types), stored as JSON.
 */
export type ColumnType =
  | "string"
  | "enum"
  | "double"
  | "long"
  | "int"
  | "boolean"
  | "timestamp"
  | "string_map"
  | "string_array"
  | "json";

/** One column of a table kind. */
export interface Column {
  /** Column name in the databases: the field's name in snake_case, unless the kind renames it. */
  readonly name: string;
  /** The row field it holds: the Avro field's name as in the schema (camelCase), or the provenance name. */
  readonly field: string;
  /** Whether it holds a schema field (false for the provenance columns). */
  readonly fromSchema: boolean;
  readonly type: ColumnType;
  /** The Avro type is a union with `null`. */
  readonly nullable: boolean;
  /** The Avro field's default, when it has one (a row may then leave the field out). */
  readonly default?: unknown;
  /** The symbols of an `enum`. */
  readonly symbols?: readonly string[];
  /** The field's doc. */
  readonly doc?: string;
}

/** An Avro record schema, as far as the columns need it. */
export interface AvroRecordSchema {
  type: "record";
  name: string;
  fields: { name: string; type: unknown; default?: unknown; doc?: string }[];
}

/** The provenance columns every table kind has: where the row's record was read (see docs/sinks.md). */
export const PROVENANCE_COLUMNS: readonly Column[] = [
  {
    name: "kafka_topic",
    field: "kafka_topic",
    fromSchema: false,
    type: "string",
    nullable: false,
    doc: "Topic of the record the row came from",
  },
  {
    name: "kafka_partition",
    field: "kafka_partition",
    fromSchema: false,
    type: "int",
    nullable: false,
    doc: "Partition of that record",
  },
  {
    name: "kafka_offset",
    field: "kafka_offset",
    fromSchema: false,
    type: "long",
    nullable: false,
    doc: "Offset of that record (a decimal string in rows)",
  },
];

/** The names of {@linkcode PROVENANCE_COLUMNS}. */
export const PROVENANCE = PROVENANCE_COLUMNS.map((c) => c.name);

/**
 * `alertId` → `alert_id`: the column name of an Avro field.
 *
 * @param field An Avro field name.
 * @returns Its snake_case form.
 */
export function columnName(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * The columns of an Avro record schema's fields (without the provenance columns).
 *
 * @param schema The record schema.
 * @param omit Fields not stored (each kind says why).
 * @param rename Field → column name, for a field whose snake_case name SQL cannot take as it is.
 * @returns One column per stored field, in the schema's order.
 * @throws {TypeError} Naming the field when its Avro type has no column type.
 */
export function avroColumns(
  schema: AvroRecordSchema,
  omit: readonly string[] = [],
  rename: Readonly<Record<string, string>> = {},
): Column[] {
  return schema.fields.filter((f) => !omit.includes(f.name)).map((f) => {
    let type = f.type;
    let nullable = false;
    if (Array.isArray(type)) {
      const others = type.filter((t) => t !== "null");
      nullable = others.length < type.length;
      type = others.length === 1 ? others[0] : { type: "union", of: others };
    }
    const column = {
      name: rename[f.name] ?? columnName(f.name),
      field: f.name,
      fromSchema: true,
      nullable,
      doc: f.doc,
    };
    const extra = f.default === undefined || f.default === null ? {} : { default: f.default };
    return { ...column, ...extra, ...columnType(schema.name, f.name, type) };
  });
}

function columnType(record: string, field: string, type: unknown): Pick<Column, "type" | "symbols"> {
  const t = type as {
    type?: unknown;
    logicalType?: unknown;
    symbols?: string[];
    values?: unknown;
    items?: unknown;
  };
  if (type === "string") return { type: "string" };
  if (type === "double" || type === "float") return { type: "double" };
  if (type === "long") return { type: "long" };
  if (type === "int") return { type: "int" };
  if (type === "boolean") return { type: "boolean" };
  if (typeof type === "object" && type !== null) {
    if (t.type === "long" && t.logicalType === "timestamp-millis") return { type: "timestamp" };
    if (t.type === "enum" && Array.isArray(t.symbols)) return { type: "enum", symbols: t.symbols };
    if (t.type === "map" && t.values === "string") return { type: "string_map" };
    if (t.type === "array" && t.items === "string") return { type: "string_array" };
    if (typeof t.type === "string" && t.logicalType === undefined && Object.keys(t).length === 1) {
      return columnType(record, field, t.type);
    }
    if (["record", "map", "array", "union"].includes(t.type as string)) return { type: "json" };
  }
  throw new TypeError(`${record}.${field}: Avro type ${JSON.stringify(type)} has no column type`);
}
