import assert from "node:assert/strict";
import { needs } from "../tests/service_env.ts";
import { crashMidStream, fastProducer } from "./_dispatcher_test_helpers.ts";
import { withKafka } from "./_with_kafka.ts";

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
