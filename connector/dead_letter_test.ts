/**
 * The dead-letter helper against the embedded connector and the real Kafka (skipped when KAFKA_BROKERS is unset):
 * a record read from a source topic is dead-lettered, then read back from the dead-letter topic.
 */
import assert from "node:assert/strict";
import { NotAvroError } from "./avro/avro_errors.ts";
import { DLQ_HEADERS, MAX_ERROR_MESSAGE_LENGTH, sendToDeadLetter } from "./dead_letter.ts";
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
  const landed = await sendToDeadLetter(connector, dlq, {
    record,
    stage: "decode",
    error,
    agent: "postgres-sink",
    attempts: 3,
  });
  assert.equal(landed.topic, dlq);

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
