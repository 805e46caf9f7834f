/**
 * The Kafka implementation of the stream connector (kafkajs 2).
 *
 * @module
 */
export { KafkaConnector } from "./kafka_connector.ts";
export { KafkaAdmin } from "./kafka_admin.ts";
export type {
  KafkaCompression,
  KafkaConnectorOptions,
  KafkaSaslOptions,
  KafkaTlsOptions,
} from "./kafka_options.ts";
