/**
 * The registry of table kinds: one module per kind (tick.ts, bar.ts, alert.ts, insight.ts) declares its schema
 * and key; {@linkcode tableKind} derives the rest from the schema on first use. Adding a kind is a module here,
 * its name in names.ts, and an entry below.
 *
 * @module
 */
import { alert } from "./alert.ts";
import { bar } from "./bar.ts";
import { insight } from "./insight.ts";
import type { TableKindName } from "./names.ts";
import { resolveTableKind, type TableKind, type TableKindSpec } from "./table_kind.ts";
import { tick } from "./tick.ts";

export { TABLE_KINDS, type TableKindName } from "./names.ts";
export type { KeyConflict, TableKind, TableKindSpec } from "./table_kind.ts";
export type { Column, ColumnType } from "./column.ts";
export { PROVENANCE, PROVENANCE_COLUMNS } from "./column.ts";
export type { CheckedRow, Row } from "./row_check.ts";

/** Every kind's declaration, by name. */
export const TABLE_KIND_SPECS: Readonly<Record<TableKindName, TableKindSpec>> = { tick, bar, alert, insight };

const resolved = new Map<TableKindName, TableKind>();

/**
 * A table kind, derived from its schema on first use.
 *
 * @param name The kind.
 * @returns Its columns, key and row validator.
 */
export function tableKind(name: TableKindName): TableKind {
  let kind = resolved.get(name);
  if (!kind) resolved.set(name, kind = resolveTableKind(TABLE_KIND_SPECS[name]));
  return kind;
}
