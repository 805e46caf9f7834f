/**
 * Table kind `bar` (market.bars): one row per bar, keyed on its natural key (symbol, source, interval, start
 * `ts`); a re-published bar (the same bar again after a restart, or an amended one) replaces the stored one
 * when it comes from a later record.
 *
 * @module
 */
import type { TableKindSpec } from "./table_kind.ts";

/** The bar kind. */
export const bar: TableKindSpec = {
  name: "bar",
  summary: "OHLCV bars (market.bar)",
  schema: "market.bar",
  key: ["symbol", "source", "interval", "ts"],
  conflict: "newest-wins",
  time: "ts",
};
