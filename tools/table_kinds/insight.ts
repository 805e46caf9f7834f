/**
 * Table kind `insight` (market.insights): one row per insight `id`, the schema's natural key; a later record
 * with the same id replaces it, a re-delivery changes nothing.
 *
 * @module
 */
import type { TableKindSpec } from "./table_kind.ts";

/** The insight kind. */
export const insight: TableKindSpec = {
  name: "insight",
  summary: "explanations produced by agents, e.g. an LLM analyst (market.insight)",
  schema: "market.insight",
  key: ["id"],
  conflict: "newest-wins",
  time: "ts",
};
