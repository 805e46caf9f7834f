/**
 * Test helper: a Kafka connector tuned for fast group joins on the test broker, with unique topic and group
 * names, torn down (topics deleted, connector closed) after the test.
 *
 * @module
 */
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import type { KafkaConnectorOptions } from "../connector/kafka/kafka_options.ts";
import { services, uniqueName } from "../tests/service_env.ts";

/** Unique names of a dispatcher test's input, output and dead-letter topics and its group. */
export type Names = { in: string; out: string; dlq: string; group: string };

/**
 * Runs `fn` with a connected connector and fresh names derived from `prefix`.
 *
 * @param prefix Prefix of the names (and the client id's suffix).
 * @param fn The test body.
 * @param options Connector options beyond the fast-join defaults (e.g. `retry`).
 */
export async function withKafka(
  prefix: string,
  fn: (connector: KafkaConnector, names: Names) => Promise<void>,
  options: Partial<KafkaConnectorOptions> = {},
): Promise<void> {
  const connector = new KafkaConnector({
    brokers: services.kafkaBrokers!,
    clientId: `dispatcher-test-${prefix}`,
    linger: 2,
    heartbeatInterval: 500,
    sessionTimeout: 10_000,
    maxWaitTimeInMs: 100,
    ...options,
  });
  await connector.connect();
  const names: Names = {
    in: uniqueName(`${prefix}_in`),
    out: uniqueName(`${prefix}_out`),
    dlq: uniqueName(`${prefix}_dlq`),
    group: uniqueName(prefix),
  };
  try {
    await fn(connector, names);
  } finally {
    await connector.admin.deleteTopics([names.in, names.out, names.dlq]).catch(() => {});
    await connector.close();
  }
}
