/**
 * The topics a node needs beyond the pipeline's own: on Kafka, the compacted source offsets
 * (`qistream.source-offsets`), the one-partition coordination topic of the singleton lease (`qistream.coordination`)
 * and the compacted node registry (`qistream.nodes`). A pipeline file may declare them (to change retention or
 * replication); when it does not, they are declared with these settings. The embedded log needs none of them.
 *
 * @module
 */
import type { Config, TopicConfig } from "../core/config_schema.ts";
import { SOURCE_OFFSETS_TOPIC } from "../connector/source_offsets/mod.ts";
import { COORDINATION_TOPIC } from "./singleton_lease.ts";
import { NODES_TOPIC } from "./node_registry.ts";

const internal = (cleanupPolicy: "compact" | "delete"): TopicConfig => ({
  partitions: 1,
  replicationFactor: 1,
  cleanupPolicy,
  compression: "none",
});

/**
 * The declared topics plus the node's internal ones (on Kafka) that the file does not declare.
 *
 * @param config the validated configuration
 * @returns topic name → declaration, for `declareTopics`
 */
export function clusterTopics(config: Config): Record<string, TopicConfig> {
  if (!config.connections.kafka) return config.topics;
  return {
    [SOURCE_OFFSETS_TOPIC]: internal("compact"),
    [COORDINATION_TOPIC]: internal("delete"),
    [NODES_TOPIC]: internal("compact"),
    ...config.topics,
  };
}
