/**
 * Table kind `bar` (market.bars): one row per bar, keyed on its natural key (symbol, source, interval, start
 * `ts`) — the `interval` field is the column `bar_interval`, as ClickHouse 18.16 cannot read back a sorting key
 * holding the keyword; a re-published bar (the same bar again after a restart, or an amended one) replaces the stored one
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
  key: ["symbol", "source", "bar_interval", "ts"],
  rename: {
    interval: "bar_interval", // ClickHouse 18.16 writes `interval` in a sorting key unquoted and cannot read it back
  },
  conflict: "newest-wins",
  time: "ts",
};
