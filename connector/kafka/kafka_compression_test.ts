/**
 * Every Kafka compression against the real broker and the other Kafka clients: batches Kafka's Java producer
 * and librdkafka write with gzip, snappy, lz4 and zstd are read by the connector, and batches the connector
 * writes with each codec are accepted by the broker (which decompresses them to validate) and read by the Java
 * consumer. Needs `KAFKA_BROKERS` and `KAFKA_LIBS` (the test services); skipped without them.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import type { ConsumedRecord } from "../types.ts";
import { waitFor } from "../contract/_wait.ts";
import { needs } from "../../tests/service_env.ts";
import {
  javaClientUnavailable,
  javaConsume,
  javaProduce,
  type JavaRecord,
} from "../../tests/interop/kafka_java_client.ts";
import {
  CONFLUENT_KAFKA_VERSION,
  hasPython,
  librdkafkaProduce,
} from "../../tests/interop/librdkafka_producer.ts";
import { parseConfig } from "../../core/config_loader.ts";
import { openConnector } from "../open_connector.ts";
import { KafkaConnector } from "./kafka_connector.ts";
import type { KafkaCompression } from "./kafka_options.ts";

const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const PER_CODEC = 400;
const base = { sanitizeOps: false, sanitizeResources: false, ...needs("KAFKA_BROKERS") } as const;
const noJava = javaClientUnavailable();
/** Tests that run Kafka's Java client are skipped, with the reason in their name, where it cannot run. */
const java = { ...base, ignore: base.ignore || noJava !== undefined } as const;
const skipJava = noJava ? ` (skipped: ${noJava})` : "";
const brokers = Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092";

function connector(compression: KafkaCompression = "none"): KafkaConnector {
  return new KafkaConnector({
    brokers: brokers.split(","),
    clientId: "qistream-compression-test",
    compression,
    heartbeatInterval: 500,
    sessionTimeout: 10_000,
    maxWaitTimeInMs: 200,
  });
}

/** Compressible records (ticks-like JSON, several KiB per batch), keyed `<codec>-<i>`. */
function records(codec: string): JavaRecord[] {
  return Array.from({ length: PER_CODEC }, (_, i) => ({
    key: new TextEncoder().encode(`${codec}-${i}`),
    value: new TextEncoder().encode(
      JSON.stringify({ symbol: ["BTC-USD", "ETH-USD", "AAPL"][i % 3], price: 60_000 + (i % 97), i, codec }),
    ),
  }));
}

function asText(r: { key: Uint8Array | null; value: Uint8Array | null }): string {
  return `${Buffer.from(r.key ?? []).toString()}=${Buffer.from(r.value ?? []).toString()}`;
}

/** Writes each codec's batches with `produce`, then reads the topic with the connector: every record, once. */
async function readsWhatOthersWrite(
  produce: (
    topic: string,
    batches: { compression: typeof CODECS[number]; records: JavaRecord[] }[],
  ) => Promise<number>,
) {
  const c = connector();
  const topic = `compression-in-${crypto.randomUUID().slice(0, 8)}`;
  await c.connect();
  await c.admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1, config: {} }]);
  try {
    const batches = CODECS.map((compression) => ({ compression, records: records(compression) }));
    const sent = batches.flatMap((b) => b.records);
    assert.equal(await produce(topic, batches), sent.length, "the other client sent all");
    const got: ConsumedRecord[] = [];
    const sub = await c.subscribe({
      group: `compression-${crypto.randomUUID().slice(0, 8)}`,
      topics: [topic],
      fromBeginning: true,
      onBatch: (b) => void got.push(...b.records),
    });
    try {
      await waitFor(() => got.length >= sent.length, 60_000, `${sent.length} records`);
    } finally {
      await sub.close();
    }
    assert.equal(got.length, sent.length, "no record lost or repeated");
    assert.deepEqual(got.map(asText).sort(), sent.map(asText).sort());
  } finally {
    await c.admin.deleteTopics([topic]).catch(() => {});
    await c.close();
  }
}

Deno.test({
  ...java,
  name:
    `kafka: gzip, snappy, lz4 and zstd batches written by Kafka's Java producer are all read, byte for byte${skipJava}`,
  fn: () => readsWhatOthersWrite((topic, batches) => javaProduce(brokers, topic, batches)),
});

Deno.test({
  ...base,
  ...(hasPython() ? {} : { ignore: true }),
  name:
    `kafka: gzip, snappy, lz4 and zstd batches written by librdkafka (confluent-kafka ${CONFLUENT_KAFKA_VERSION}) are all read${
      hasPython() ? "" : " (skipped: python3 is not available)"
    }`,
  fn: () => readsWhatOthersWrite((topic, batches) => librdkafkaProduce(brokers, topic, batches)),
});

Deno.test({
  ...java,
  name:
    "kafka: connections.kafka.compression publishes with every codec; the broker accepts the batches and Java " +
    `reads them all${skipJava}`,
  fn: async () => {
    const setup = connector();
    const topic = `compression-ours-${crypto.randomUUID().slice(0, 8)}`;
    await setup.connect();
    // compression.type=producer (Kafka's default): the broker keeps each batch as the producer compressed it.
    await setup.admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1, config: {} }]);
    const registry = CompressionCodecs as unknown as Record<number, () => { compress: unknown }>;
    try {
      const sent: JavaRecord[] = [];
      for (const codec of CODECS) {
        // Count what kafkajs hands to the codec, so the test fails if the producer silently sent uncompressed.
        const type = {
          gzip: CompressionTypes.GZIP,
          snappy: CompressionTypes.Snappy,
          lz4: CompressionTypes.LZ4,
          zstd: CompressionTypes.ZSTD,
        }[codec];
        const registered = registry[type]!;
        let compressed = 0;
        registry[type] = () => {
          const inner = registered() as { compress(e: unknown): Promise<unknown> };
          return { ...inner, compress: (e: unknown) => (compressed++, inner.compress(e)) };
        };
        // Through the configuration, as a node opens it: connections.kafka.compression.
        const { config } = parseConfig(
          `connections:\n  kafka:\n    brokers: ${brokers}\n    compression: ${codec}\n`,
          {
            env: () => undefined,
          },
        );
        const c = openConnector(config);
        try {
          await c.connect();
          const batch = records(codec);
          await Promise.all(batch.map((r) => c.publish(topic, [{ key: r.key, value: r.value }])));
          sent.push(...batch);
        } finally {
          await c.close();
          registry[type] = registered;
        }
        assert.ok(compressed > 0, `${codec}: the producer compressed its batches`);
      }
      const got = await javaConsume(brokers, topic, sent.length);
      assert.equal(got.length, sent.length, "the Java consumer read every record once");
      assert.deepEqual(got.map(asText).sort(), sent.map(asText).sort());
    } finally {
      await setup.admin.deleteTopics([topic]).catch(() => {});
      await setup.close();
    }
  },
});
