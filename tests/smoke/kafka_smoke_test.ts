import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { needs, services, uniqueName } from "../service_env.ts";

Deno.test({
  name: "kafka: a record produced with kafkajs is consumed back (needs KAFKA_BROKERS)",
  ...needs("KAFKA_BROKERS"),
  // kafkajs keeps sockets and timers alive between its own calls; everything is closed in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const kafka = new Kafka({
      clientId: "smoke",
      brokers: services.kafkaBrokers!,
      logLevel: logLevel.NOTHING,
    });
    const topic = uniqueName("smoke");
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true });
    const consumer = kafka.consumer({ groupId: uniqueName("smoke-group") });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      const [ack] = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: "BTC-USD", value: "42000.5" }],
      });
      assert.equal(ack?.errorCode, 0);

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await new Promise<{ key: string; value: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no record within 30 s")), 30_000);
        consumer.run({
          eachMessage: ({ message }) => {
            clearTimeout(timer);
            resolve({ key: message.key?.toString() ?? "", value: message.value?.toString() ?? "" });
            return Promise.resolve();
          },
        });
      });
      assert.deepEqual(received, { key: "BTC-USD", value: "42000.5" });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  },
});
