/**
 * Turns the `topics` section of the pipeline configuration into `TopicDescription`s with Kafka config keys.
 *
 * @module
 */
import type { TopicDescription } from "../types.ts";

/** One declared topic, as the configuration holds it (see `core/config_schema.ts`). */
export interface DeclaredTopicConfig {
  partitions: number;
  replicationFactor: number;
  retentionMs?: number;
  cleanupPolicy: "delete" | "compact";
  compression: "none" | "gzip" | "snappy" | "lz4" | "zstd";
  /** Extra Kafka topic configs, verbatim; they win over the fields above. */
  config?: Record<string, string>;
}

/**
 * Maps declared topics to descriptions: `retentionMs` → `retention.ms`, `cleanupPolicy` → `cleanup.policy`,
 * `compression` → `compression.type` (`none` → `producer`, Kafka's default: keep what the producer sent).
 *
 * @example
 * ```ts
 * declaredTopics({ "market.ticks": { partitions: 6, replicationFactor: 1, cleanupPolicy: "delete", compression: "lz4" } });
 * // [{ name: "market.ticks", partitions: 6, replicationFactor: 1,
 * //    config: { "cleanup.policy": "delete", "compression.type": "lz4" } }]
 * ```
 */
export function declaredTopics(topics: Record<string, DeclaredTopicConfig>): TopicDescription[] {
  return Object.entries(topics).map(([name, t]) => {
    const config: Record<string, string> = {
      "cleanup.policy": t.cleanupPolicy,
      "compression.type": t.compression === "none" ? "producer" : t.compression,
    };
    if (t.retentionMs !== undefined) config["retention.ms"] = String(t.retentionMs);
    Object.assign(config, t.config ?? {});
    return { name, partitions: t.partitions, replicationFactor: t.replicationFactor, config };
  });
}
