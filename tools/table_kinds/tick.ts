/**
 * Table kind `tick` (market.ticks): one row per delivered tick record, keyed on the record's provenance led by
 * the columns queries select on, so only a re-delivery of the same record collapses, never two distinct ticks
 * that share a symbol and a millisecond (docs/sinks.md, "Idempotency key").
 *
 * @module
 */
import type { TableKindSpec } from "./table_kind.ts";

/** The tick kind. */
export const tick: TableKindSpec = {
  name: "tick",
  summary: "market ticks (market.tick)",
  schema: "market.tick",
  key: ["symbol", "source", "ts", "kafka_topic", "kafka_partition", "kafka_offset"],
  conflict: "insert-once",
  time: "ts",
  omit: {
    bidSize: "v2 field, not stored yet: tick tables keep their v1 layout (adding it needs a migration)",
    askSize: "v2 field, not stored yet: tick tables keep their v1 layout (adding it needs a migration)",
    currency: "v2 field, not stored yet: tick tables keep their v1 layout (adding it needs a migration)",
    receivedAt: "v2 field, not stored yet: tick tables keep their v1 layout (adding it needs a migration)",
  },
};
