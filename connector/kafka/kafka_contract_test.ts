/**
 * The contract suite against the real Kafka of the test services (`KAFKA_BROKERS`); skipped without it.
 */
import { runContractSuite } from "../contract/mod.ts";
import { KafkaConnector } from "./kafka_connector.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");

runContractSuite(
  "kafka",
  () =>
    new KafkaConnector({
      brokers: (brokers ?? "127.0.0.1:9092").split(","),
      clientId: "qistream-contract",
      // Short heartbeats so rebalances are noticed within a second; quick retries keep failures fast.
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
      maxWaitTimeInMs: 200,
      retry: { initialRetryTime: 100, retries: 5 },
    }),
  {
    ignore: !brokers,
    ignoreReason: "KAFKA_BROKERS is not set",
    // kafkajs keeps sockets and timers (request timeouts, retry delays) whose release it does not await in
    // disconnect(), so Deno's op and resource sanitizers would flag a correct test; we close every connector.
    sanitizeOps: false,
    sanitizeResources: false,
  },
);
