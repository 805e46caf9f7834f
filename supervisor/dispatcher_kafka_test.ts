import assert from "node:assert/strict";
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import { needs, services, uniqueName } from "../tests/service_env.ts";
import { crashMidStream, fastProducer } from "./_dispatcher_test_helpers.ts";

async function withKafka(prefix: string, fn: (connector: KafkaConnector, names: Names) => Promise<void>) {
  const connector = new KafkaConnector({
    brokers: services.kafkaBrokers!,
    clientId: "dispatcher-test",
    linger: 2,
    heartbeatInterval: 500,
    sessionTimeout: 10_000,
    maxWaitTimeInMs: 100,
  });
  await connector.connect();
  const names = {
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

type Names = { in: string; out: string; dlq: string; group: string };

Deno.test({
  ...needs("KAFKA_BROKERS"),
  sanitizeOps: false,
  sanitizeResources: false,
  name: "dispatch over Kafka: killing an actor mid-stream loses nothing; duplicates are only redeliveries",
  fn: () => withKafka("dispatch_crash", (connector, names) => crashMidStream(connector, names, assert)),
});

Deno.test({
  ...needs("KAFKA_BROKERS"),
  sanitizeOps: false,
  sanitizeResources: false,
  name: "dispatch over Kafka: a producer ten times faster than the consumer leaves memory flat",
  // kafkajs fetches up to 1 MiB per partition: ~4 000 records of 230 B, 400 batches of 10.
  fn: () => withKafka("dispatch_flood", (connector, names) => fastProducer(connector, names, 500, assert)),
});
