/**
 * A table kind: the table the sinks write for one record schema. Its module declares only what the schema
 * cannot say — which schema, the idempotency key, how a second row with the same key is treated, fields not
 * stored — and {@linkcode resolveTableKind} derives the rest from the newest version of the Avro schema in
 * `schemas/<schema>/`: the columns (see column.ts), the row validator (row_check.ts); the DDL and inserts of each
 * database are built from those (tools/postgres_table.ts, tools/clickhouse_table.ts).
 *
 * @module
 */
import type { AvroRecordSchema, Column } from "./column.ts";
import { avroColumns, PROVENANCE_COLUMNS } from "./column.ts";
import type { TableKindName } from "./names.ts";
import { type RowCheck, rowCheck } from "./row_check.ts";

/**
 * What a second row with the same key does:
 * - `insert-once`: nothing (the first stays). For kinds keyed on the record's provenance, where the same key
 *   means the same record delivered again (ticks).
 * - `newest-wins`: it replaces the row when it comes from a later record (a higher offset of the same topic and
 *   partition, or another topic or partition); a re-delivery of the same or an older record changes nothing.
 *   For kinds keyed on a natural key whose record may be re-published with new content (an amended bar, an
 *   alert's next state).
 */
export type KeyConflict = "insert-once" | "newest-wins";

/** What a table kind's module declares. */
export interface TableKindSpec {
  readonly name: TableKindName;
  /** One sentence for the tools' descriptions. */
  readonly summary: string;
  /** The folder of its Avro schema in `schemas/` (the newest `vN.avsc` there is used). */
  readonly schema: string;
  /** The idempotency key: column names (snake_case), the columns queries select on first. */
  readonly key: readonly string[];
  readonly conflict: KeyConflict;
  /**
   * Field → column name, for a field whose snake_case name SQL cannot take as it is (e.g. the bar's
   * `interval`: ClickHouse 18.16 cannot read back a sorting key holding that keyword).
   */
  readonly rename?: Readonly<Record<string, string>>;
  /** Fields of the schema that are not stored, each with the reason. */
  readonly omit?: Readonly<Record<string, string>>;
  /** The event-time column (timestamps partition and index on it). */
  readonly time: string;
}

/** A table kind with what its schema says. */
export interface TableKind extends TableKindSpec {
  /** The schema version the columns come from. */
  readonly version: number;
  /** The stored fields' columns, then {@linkcode PROVENANCE_COLUMNS}. */
  readonly columns: readonly Column[];
  /** The row validator. */
  readonly rows: RowCheck;
}

const SCHEMAS = new URL("../../schemas/", import.meta.url);

/**
 * The newest version of a schema folder.
 *
 * @param folder A folder of `schemas/`.
 * @returns Its highest `vN.avsc`, parsed, and N.
 * @throws {Error} When the folder has no version.
 */
export function newestSchema(folder: string): { version: number; schema: AvroRecordSchema } {
  const dir = new URL(`${folder}/`, SCHEMAS);
  const versions = [...Deno.readDirSync(dir)]
    .map((e) => /^v(\d+)\.avsc$/.exec(e.name)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  const version = versions[0];
  if (version === undefined) throw new Error(`schemas/${folder}/ has no vN.avsc`);
  return { version, schema: JSON.parse(Deno.readTextFileSync(new URL(`v${version}.avsc`, dir))) };
}

/**
 * Derives a table kind from its spec and the newest version of its schema.
 *
 * @param spec The kind's declaration.
 * @returns The kind.
 * @throws {TypeError} When the key or time column is not a column, or an omitted field is not in the schema.
 */
export function resolveTableKind(spec: TableKindSpec): TableKind {
  const { version, schema } = newestSchema(spec.schema);
  const omit = Object.keys(spec.omit ?? {});
  for (const field of [...omit, ...Object.keys(spec.rename ?? {})]) {
    if (!schema.fields.some((f) => f.name === field)) {
      throw new TypeError(
        `table kind ${spec.name}: omitted or renamed field ${field} is not in ${spec.schema} v${version}`,
      );
    }
  }
  const columns = [...avroColumns(schema, omit, spec.rename), ...PROVENANCE_COLUMNS];
  for (const name of [...spec.key, spec.time]) {
    if (!columns.some((c) => c.name === name)) {
      throw new TypeError(`table kind ${spec.name}: key or time column ${name} is not a column`);
    }
  }
  return { ...spec, version, columns, rows: rowCheck(columns, spec.key) };
}
