/**
 * Table kind `alert` (market.alerts): one row per alert `id`, the schema's natural key; a later record with the
 * same id (the alert's next state: updated, resolved) replaces it, a re-delivery changes nothing.
 *
 * @module
 */
import type { TableKindSpec } from "./table_kind.ts";

/** The alert kind. */
export const alert: TableKindSpec = {
  name: "alert",
  summary: "alerts raised by monitor agents (market.alert)",
  schema: "market.alert",
  key: ["id"],
  conflict: "newest-wins",
  time: "ts",
};
