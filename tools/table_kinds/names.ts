/**
 * The names of the table kinds, without their definitions (which read the Avro schemas from disk): for Workers
 * and config schemas that only name a kind.
 *
 * @module
 */

/** The table kinds the tools can create and write; callers never send DDL. */
export const TABLE_KINDS = ["tick", "bar", "alert", "insight"] as const;

/** One of {@linkcode TABLE_KINDS}. */
export type TableKindName = typeof TABLE_KINDS[number];
