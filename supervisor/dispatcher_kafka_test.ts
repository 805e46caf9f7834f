import assert from "node:assert/strict";
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import { needs, services, uniqueName } from "../tests/service_env.ts";
import { crashMidStream } from "./_dispatcher_test_helpers.ts";

Deno.test({
  ...needs("KAFKA_BROKERS"),
  sanitizeOps: false,
  sanitizeResources: false,
  name: "dispatch over Kafka: killing an actor mid-stream loses nothing; duplicates are only redeliveries",
  async fn() {
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
      in: uniqueName("dispatch_in"),
      out: uniqueName("dispatch_out"),
      dlq: uniqueName("dispatch_dlq"),
      group: uniqueName("dispatch"),
    };
    try {
      await crashMidStream(connector, names, assert);
    } finally {
      await connector.admin.deleteTopics([names.in, names.out, names.dlq]).catch(() => {});
      await connector.close();
    }
  },
});
