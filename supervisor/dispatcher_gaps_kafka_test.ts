// Offsets a Kafka log never delivers — records removed by compaction, transaction markers — must not hold a
// partition's commits back, even when they fall inside one fetched run that the dispatcher cuts into batches.
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import type { ConsumedRecord, StreamConnector } from "../connector/types.ts";
import { producerPerformance } from "../tests/bench/kafka_perf_tools.ts";
import { needs, services, uniqueName } from "../tests/service_env.ts";
import { allCommitted, bytes, readAll, startPipeline, text, until } from "./_dispatcher_test_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function withKafka(fn: (connector: KafkaConnector) => Promise<void>) {
  const connector = new KafkaConnector({
    brokers: services.kafkaBrokers!,
    clientId: "dispatcher-gaps-test",
    linger: 2,
    heartbeatInterval: 500,
    sessionTimeout: 10_000,
    maxWaitTimeInMs: 100,
  });
  await connector.connect();
  try {
    await fn(connector);
  } finally {
    await connector.close();
  }
}

/** The records a fresh group is delivered from `topic` (one partition), up to its high watermark. */
async function delivered(connector: StreamConnector, topic: string): Promise<ConsumedRecord[]> {
  const high = (await connector.offsets(topic))[0]!.high;
  const seen: ConsumedRecord[] = [];
  let covered = -1n;
  const sub = await connector.subscribe({
    group: `probe-${crypto.randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch: (b) => {
      seen.push(...b.records);
      const last = b.lastOffset ?? b.records.at(-1)?.offset;
      if (last !== undefined && BigInt(last) > covered) covered = BigInt(last);
    },
  });
  try {
    await until(() => covered >= BigInt(high) - 1n, 30_000, `${topic} read up to ${high}`);
  } finally {
    await sub.close();
  }
  return seen;
}

/** Offsets between the first and the last delivered record that hold no delivered record. */
function innerGaps(records: ConsumedRecord[]): number {
  if (records.length === 0) return 0;
  return Number(BigInt(records.at(-1)!.offset) - BigInt(records[0]!.offset) + 1n) - records.length;
}

/**
 * Runs the dispatch sink over `topic` in batches of `maxBatchRecords`, waits until the group committed the whole
 * topic, and returns the values that reached the sink.
 */
async function dispatchAll(
  connector: StreamConnector,
  topic: string,
  maxBatchRecords: number,
  /** Runs once everything was committed; the group must then commit to the end again. */
  andThen?: () => Promise<void>,
): Promise<string[]> {
  const out = uniqueName("gaps_out"), dlq = uniqueName("gaps_dlq"), group = uniqueName("gaps");
  await connector.admin.createTopics(
    [out, dlq].map((name) => ({ name, partitions: 1, replicationFactor: 1, config: {} })),
  );
  const p = await startPipeline({
    connector,
    agent: group,
    topics: [topic],
    deadLetterTopic: dlq,
    fromBeginning: true,
    instances: 1,
    out,
    maxBatchRecords,
  });
  try {
    await allCommitted(connector, topic, group, 60_000);
    if (andThen) {
      await andThen();
      await allCommitted(connector, topic, group, 60_000);
    }
    assert.equal(p.dispatcher.stats.redeliveredBatches + p.dispatcher.stats.retries, 0);
    assert.ok(p.dispatcher.stats.batchesAcked > 1, "the fetched runs were cut into several batches");
  } finally {
    await p.stop();
  }
  try {
    return (await readAll(connector, out)).map((r) => text(r.value));
  } finally {
    await connector.admin.deleteTopics([out, dlq]).catch(() => {});
  }
}

Deno.test({
  ...opts,
  ...needs("KAFKA_BROKERS"),
  name: "dispatch over Kafka: a compacted topic's gaps inside a fetched run do not freeze commits",
  fn: () =>
    withKafka(async (connector) => {
      const topic = uniqueName("compacted");
      await connector.admin.createTopics([{
        name: topic,
        partitions: 1,
        replicationFactor: 1,
        // Small segments, cleaned as soon as they are dirty: most superseded values go away within seconds.
        config: {
          "cleanup.policy": "compact",
          "segment.bytes": "2048",
          "min.cleanable.dirty.ratio": "0.01",
          "min.compaction.lag.ms": "0",
          "delete.retention.ms": "100",
        },
      }]);
      try {
        // Every 5th record has a key of its own and survives compaction; the others rewrite 4 keys over and over,
        // so the cleaned log keeps isolated records with holes between them.
        const keyOf = (i: number) => (i % 5 === 0 ? `u${i}` : `k${i % 4}`);
        for (let i = 0; i < 400; i += 10) {
          await connector.publish(
            topic,
            Array.from(
              { length: 10 },
              (_, j) => ({ key: keyOf(i + j), value: bytes(`${keyOf(i + j)}:${i + j}`) }),
            ),
          );
        }
        let before: ConsumedRecord[] = [];
        await until(
          async () => {
            before = await delivered(connector, topic);
            return innerGaps(before) > 0;
          },
          90_000,
          `the log cleaner to compact ${topic}`,
        );
        const got = await dispatchAll(connector, topic, 3);
        // The cleaner may have removed more since: what the sink got is a compaction of what was published.
        const seq = got.map((v) => Number(v.split(":")[1]));
        assert.ok(
          got.length <= before.length,
          `${got.length} records, at most the ${before.length} seen before`,
        );
        assert.deepEqual(seq, [...seq].sort((a, b) => a - b), "in offset order, each once");
        for (let i = 0; i < 400; i += 5) {
          assert.ok(got.includes(`u${i}:${i}`), `u${i}, a key written once, is there`);
        }
        for (const i of [396, 397, 398, 399]) {
          assert.ok(got.includes(`${keyOf(i)}:${i}`), `the latest value of ${keyOf(i)}`);
        }
      } finally {
        await connector.admin.deleteTopics([topic]).catch(() => {});
      }
    }),
});

Deno.test({
  ...opts,
  ...needs("KAFKA_BROKERS", "KAFKA_LIBS"),
  name:
    "dispatch over Kafka: a topic written by a transactional Java producer (commit markers), then an aborted " +
    "transaction, commits to its end",
  fn: () =>
    withKafka(async (connector) => {
      const topic = uniqueName("transactional");
      await connector.admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1, config: {} }]);
      try {
        // Kafka's own ProducerPerformance in transactions of ~20 ms: every commit leaves a marker offset.
        await producerPerformance({
          java: Deno.env.get("KAFKA_JAVA") ?? "java",
          classpath: Deno.env.get("KAFKA_LIBS")!,
          brokers: services.kafkaBrokers!.join(","),
          topic,
          records: 300,
          throughput: 1500,
          transactionalId: uniqueName("txn"),
          transactionDurationMs: 20,
        });
        const records = await delivered(connector, topic);
        const high = (await connector.offsets(topic))[0]!.high;
        assert.equal(records.length, 300);
        assert.ok(innerGaps(records) > 0, `commit markers between the records (high ${high})`);
        assert.ok(BigInt(high) > BigInt(records.at(-1)!.offset) + 1n, "the log ends with a commit marker");
        // Then, with the consumer caught up, a transaction that aborts: its records and its abort marker come
        // in a fetch that holds nothing to deliver.
        const aborted = async () => {
          const kafka = new Kafka({ brokers: services.kafkaBrokers!, logLevel: logLevel.NOTHING });
          const producer = kafka.producer({
            transactionalId: uniqueName("abort"),
            idempotent: true,
            maxInFlightRequests: 1,
          });
          await producer.connect();
          try {
            const txn = await producer.transaction();
            await txn.send({
              topic,
              messages: Array.from({ length: 5 }, (_, i) => ({ value: `aborted-${i}` })),
            });
            await txn.abort();
          } finally {
            await producer.disconnect();
          }
        };
        const got = await dispatchAll(connector, topic, 7, aborted);
        assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => String(i)), "each record once, in order");
      } finally {
        await connector.admin.deleteTopics([topic]).catch(() => {});
      }
    }),
});
