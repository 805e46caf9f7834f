/**
 * The dead-letter helper against the embedded connector and the real Kafka (skipped when KAFKA_BROKERS is unset):
 * a record read from a source topic is dead-lettered, then read back from the dead-letter topic.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NotAvroError } from "./avro/avro_errors.ts";
import { AvroSerde } from "./avro/avro_serde.ts";
import { frameConfluent } from "./avro/confluent_wire_format.ts";
import { EmbeddedSchemaRegistry } from "./registry/embedded_schema_registry.ts";
import { registry as metricsRegistry } from "../core/metrics.ts";
import {
  DEAD_LETTERS_METRIC,
  DLQ_HEADERS,
  MAX_ERROR_MESSAGE_LENGTH,
  sendToDeadLetter,
} from "./dead_letter.ts";
import { EmbeddedConnector } from "./embedded/embedded_connector.ts";
import { KafkaConnector } from "./kafka/kafka_connector.ts";
import type { ConsumedRecord, StreamConnector } from "./types.ts";

/** Reads `count` records of a topic from the beginning with a fresh group. */
async function readAll(connector: StreamConnector, topic: string, count: number): Promise<ConsumedRecord[]> {
  const got: ConsumedRecord[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  const sub = await connector.subscribe({
    group: `dlq-test-${crypto.randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch(batch) {
      got.push(...batch.records);
      if (got.length >= count) resolve();
    },
  });
  const timer = setTimeout(resolve, 30_000);
  await promise;
  clearTimeout(timer);
  await sub.close();
  return got;
}

async function deadLetterCount(labels: Record<string, string>): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(DEAD_LETTERS_METRIC);
  if (!metric) return 0;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

async function story(connector: StreamConnector, prefix: string) {
  const source = `${prefix}.source`;
  const dlq = `${prefix}.dead-letter`;
  await connector.admin.createTopics([
    { name: source, partitions: 3, replicationFactor: 1, config: {} },
    { name: dlq, partitions: 1, replicationFactor: 1, config: {} },
  ]);
  // Bytes that are not valid UTF-8 and not Avro, to prove nothing re-encodes them.
  const value = new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x80, 0x01]);
  const key = new Uint8Array([0xc3, 0x28, 0x42]);
  const [published] = await connector.publish(source, [
    { key, value, headers: { "correlation-id": "c-42", schema: "market.tick/v1" } },
  ]);
  const [record] = await readAll(connector, source, 1);
  assert.ok(record && published);

  const error = new NotAvroError("first byte is 0xff, expected magic byte 0x00", value);
  const labels = {
    topic: dlq,
    source_topic: source,
    stage: "decode",
    error_class: "NotAvroError",
    agent: "postgres-sink",
  };
  const before = await deadLetterCount(labels);
  const landed = await sendToDeadLetter(connector, dlq, {
    record,
    stage: "decode",
    error,
    agent: "postgres-sink",
    attempts: 3,
  });
  assert.equal(landed.topic, dlq);
  assert.equal(await deadLetterCount(labels), before + 1, "counted in qistream_dead_letters_total");

  const [letter] = await readAll(connector, dlq, 1);
  assert.ok(letter);
  assert.deepEqual(new Uint8Array(letter.value!), value, "value bytes untouched");
  assert.deepEqual(new Uint8Array(letter.key!), key, "key bytes untouched");
  assert.equal(letter.offset, landed.offset);
  assert.deepEqual(letter.headers, {
    "correlation-id": "c-42",
    schema: "market.tick/v1",
    [DLQ_HEADERS.sourceTopic]: source,
    [DLQ_HEADERS.sourcePartition]: String(published.partition),
    [DLQ_HEADERS.sourceOffset]: published.offset,
    [DLQ_HEADERS.sourceTimestamp]: String(record.timestamp),
    [DLQ_HEADERS.stage]: "decode",
    [DLQ_HEADERS.errorClass]: "NotAvroError",
    [DLQ_HEADERS.errorMessage]: error.message,
    [DLQ_HEADERS.agent]: "postgres-sink",
    [DLQ_HEADERS.attempts]: "3",
  });

  // A tombstone and a non-Error failure with a huge message.
  await sendToDeadLetter(connector, dlq, {
    record: { ...record, key: null, value: null, headers: {} },
    stage: "handler",
    error: "x".repeat(MAX_ERROR_MESSAGE_LENGTH + 10),
    agent: "a",
    attempts: 1,
  });
  const letters = await readAll(connector, dlq, 2);
  const second = letters[1]!;
  assert.equal(second.value, null);
  assert.equal(second.key, null);
  assert.equal(second.headers[DLQ_HEADERS.errorClass], "string");
  assert.match(second.headers[DLQ_HEADERS.errorMessage]!, /\.\.\. \(10 more characters\)$/);

  await assert.rejects(
    () => sendToDeadLetter(connector, dlq, { record, stage: "decode", error, agent: "a", attempts: -1 }),
    TypeError,
  );
}

Deno.test("dead letters: original bytes untouched, dlq.* headers and original headers (embedded)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-dlq-" });
  const connector = new EmbeddedConnector({ dataDir });
  await connector.connect();
  try {
    await story(connector, "dlq");
  } finally {
    await connector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

const brokers = Deno.env.get("KAFKA_BROKERS");
Deno.test({
  name: `dead letters: the same against the real Kafka${
    brokers ? "" : " (skipped: KAFKA_BROKERS is not set)"
  }`,
  ignore: !brokers,
  async fn() {
    const connector = new KafkaConnector({ brokers: brokers!.split(","), linger: 0 });
    await connector.connect();
    const prefix = `qistream-dlq-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
    try {
      await story(connector, prefix);
    } finally {
      await connector.admin.deleteTopics([`${prefix}.source`, `${prefix}.dead-letter`]).catch(() => {});
      await connector.close();
    }
  },
});

/**
 * Bad input end to end: a partition holding good records between a non-Avro record, an unknown schema id and an
 * oversized record. Each bad one is dead-lettered with its typed error, the good ones are decoded in order, and the
 * partition is committed to its end: nothing stops it and nothing disappears.
 */
async function badInputStory(connector: StreamConnector, prefix: string) {
  const dir = await Deno.makeTempDir({ prefix: "qistream-badinput-" });
  try {
    const registry = new EmbeddedSchemaRegistry({ path: join(dir, "schema-registry.json") });
    const serde = new AvroSerde({ registry, maxRecordBytes: 256 });
    const source = `${prefix}.ticks`;
    const dlq = `${prefix}.dead-letter`;
    await registry.register(`${source}-value`, {
      type: "record",
      name: "T",
      fields: [{ name: "n", type: "int" }, { name: "s", type: "string" }],
    });
    await connector.admin.createTopics([
      { name: source, partitions: 1, replicationFactor: 1, config: {} },
      { name: dlq, partitions: 1, replicationFactor: 1, config: {} },
    ]);
    const good = (n: number) => serde.encode(source, { n, s: "ok" });
    const values = [
      await good(1),
      new TextEncoder().encode('{"n":2}'),
      await good(2),
      frameConfluent(999_999, new Uint8Array([2, 0])),
      frameConfluent(1, new Uint8Array(300)),
      await good(3),
    ];
    await connector.publish(source, values.map((value) => ({ key: "k", value })));

    const decoded: number[] = [];
    const group = `badinput-${crypto.randomUUID()}`;
    const { promise: allSeen, resolve } = Promise.withResolvers<void>();
    let seen = 0;
    const sub = await connector.subscribe({
      group,
      topics: [source],
      fromBeginning: true,
      async onBatch(batch) {
        for (const record of batch.records) {
          try {
            decoded.push((await serde.decode<{ n: number }>(record.value)).value.n);
          } catch (error) {
            if ((error as { retriable?: boolean }).retriable !== false) throw error;
            await sendToDeadLetter(connector, dlq, {
              record,
              stage: "decode",
              error,
              agent: "test-sink",
              attempts: 1,
            });
          }
        }
        await sub.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset);
        seen += batch.records.length;
        if (seen >= values.length) resolve();
      },
    });
    const timer = setTimeout(resolve, 30_000);
    await allSeen;
    clearTimeout(timer);
    await sub.close();

    assert.deepEqual(decoded, [1, 2, 3], "good records decoded in order");
    const letters = await readAll(connector, dlq, 3);
    assert.deepEqual(letters.map((l) => l.headers[DLQ_HEADERS.errorClass]), [
      "NotAvroError",
      "UnknownSchemaIdError",
      "AvroRecordTooLargeError",
    ]);
    assert.deepEqual(letters.map((l) => l.headers[DLQ_HEADERS.sourceOffset]), ["1", "3", "4"]);
    assert.match(letters[1]!.headers[DLQ_HEADERS.errorMessage]!, /Unknown schema id 999999/);
    assert.match(letters[2]!.headers[DLQ_HEADERS.errorMessage]!, /305 bytes exceeds the limit of 256 bytes/);
    assert.deepEqual(new Uint8Array(letters[0]!.value!), values[1], "the bad bytes are kept as they were");
    const [offsets] = await connector.offsets(source, group);
    assert.equal(offsets?.committed, "6", "the partition was committed past every record");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("bad input: not Avro, unknown id, too large go to the dead-letter topic; the partition moves on (embedded)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-dlq-" });
  const connector = new EmbeddedConnector({ dataDir });
  await connector.connect();
  try {
    await badInputStory(connector, "bad");
  } finally {
    await connector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name: `bad input: the same against the real Kafka${brokers ? "" : " (skipped: KAFKA_BROKERS is not set)"}`,
  ignore: !brokers,
  async fn() {
    const connector = new KafkaConnector({ brokers: brokers!.split(","), linger: 0 });
    await connector.connect();
    const prefix = `qistream-bad-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
    try {
      await badInputStory(connector, prefix);
    } finally {
      await connector.admin.deleteTopics([`${prefix}.ticks`, `${prefix}.dead-letter`]).catch(() => {});
      await connector.close();
    }
  },
});
