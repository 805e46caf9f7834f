/**
 * The configured stream connector: Kafka when `connections.kafka` is set, otherwise the embedded log in
 * `<dataDir>/log`. `deno task start`, `topics` and the benchmarks all open the log through this one function, so
 * they agree on where the embedded log lives.
 *
 * @module
 */
import { join } from "node:path";
import type { Config } from "../core/config_schema.ts";
import { registry } from "../core/metrics.ts";
import { EmbeddedConnector } from "./embedded/mod.ts";
import { KafkaConnector } from "./kafka/kafka_connector.ts";
import { fileMemberIdStore } from "./kafka/kafka_member_ids.ts";
import type { StreamConnector } from "./types.ts";

/** File of `node.dataDir` where a Kafka node remembers its consumer groups' last member ids. */
export const KAFKA_MEMBERS_FILE = "kafka-members.json";

/** Subdirectory of `node.dataDir` holding the embedded log. */
export const EMBEDDED_LOG_DIR = "log";

/**
 * Creates (does not connect) the connector the configuration asks for.
 *
 * @example
 * ```ts
 * const connector = openConnector(config);
 * await connector.connect();
 * ```
 */
export function openConnector(config: Pick<Config, "connections" | "node">): StreamConnector {
  const kafka = config.connections.kafka;
  if (kafka) {
    return new KafkaConnector({
      brokers: kafka.brokers,
      clientId: kafka.clientId,
      compression: kafka.compression,
      ssl: kafka.ssl,
      sasl: kafka.sasl,
      connectionTimeout: kafka.connectionTimeoutMs,
      requestTimeout: kafka.requestTimeoutMs,
      sessionTimeout: kafka.sessionTimeoutMs,
      heartbeatInterval: kafka.heartbeatIntervalMs,
      rebalanceTimeout: kafka.rebalanceTimeoutMs,
      memberIds: fileMemberIdStore(join(config.node.dataDir, KAFKA_MEMBERS_FILE)),
    });
  }
  return new EmbeddedConnector({ dataDir: join(config.node.dataDir, EMBEDDED_LOG_DIR), registry });
}

/** Where the configured log is, for people: `Kafka at host:port` or `the embedded log in data/log`. */
export function describeConnector(config: Pick<Config, "connections" | "node">): string {
  const kafka = config.connections.kafka;
  return kafka
    ? `Kafka at ${kafka.brokers.join(",")}`
    : `the embedded log in ${join(config.node.dataDir, EMBEDDED_LOG_DIR)}`;
}
