/**
 * Measures the Kafka connector's publish throughput for ~200-byte records against a real broker, comparing
 * the linger batcher (concurrent single-record publish calls coalesced into one send), one send per record
 * (`batchRecords: 1`), and callers that pass arrays of records; then the consume rate of one group member.
 *
 * Usage: `KAFKA_BROKERS=127.0.0.1:9092 deno run -A connector/kafka/kafka_publish_bench.ts [records]`
 *
 * Measured 2026-11-24 on the test services (Kafka 3.9.1 KRaft, one broker on loopback, 2 cores shared with the
 * broker and other test runs, so ±40 % between runs), 200-byte values, 6 partitions, acks=all, idempotent:
 *
 * | mode | records/s |
 * |---|---:|
 * | 1 record per call, 2000 calls in flight, linger 0 (default) | 52 000–61 000 |
 * | same, linger 5 ms | 26 000–56 000 |
 * | same, linger 0 + gzip | 30 000–59 000 |
 * | arrays of 500 records per call, 4 calls in flight | 50 000–74 000 |
 * | one send per record (`batchRecords: 1`) | 1 600–4 000 |
 * | sequential awaited publish, linger 0 / linger 5 ms | 430–460 / 150 |
 * | consume, one member, commit per batch | 160 000–500 000 |
 *
 * Coalescing is worth 15–30x over one send per record; linger 0 is as fast under load as 5 ms (calls queued
 * during an in-flight send batch by themselves) and has a third of the latency for a lone publisher.
 *
 * @module
 */
import { KafkaConnector } from "./kafka_connector.ts";
import type { KafkaConnectorOptions } from "./kafka_options.ts";

/** One measured run. */
export interface BenchResult {
  mode: string;
  records: number;
  seconds: number;
  recordsPerSecond: number;
}

const SYMBOLS = Array.from({ length: 50 }, (_, i) => `SYM${i}-USD`);
const VALUE = new Uint8Array(200).map((_, i) => (i * 31) & 0xff);

/**
 * Publishes `records` records with at most `window` publish calls in flight, `perCall` records each.
 *
 * @returns the run's records/s
 */
export async function benchPublish(
  mode: string,
  options: KafkaConnectorOptions,
  topic: string,
  records: number,
  perCall: number,
  window: number,
): Promise<BenchResult> {
  const connector = new KafkaConnector(options);
  try {
    await connector.connect();
    await connector.publish(topic, [{ key: "warm-up", value: VALUE }]);
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < records) {
        const start = next;
        next += perCall;
        const batch = [];
        for (let i = start; i < Math.min(start + perCall, records); i++) {
          batch.push({ key: SYMBOLS[i % SYMBOLS.length]!, value: VALUE });
        }
        await connector.publish(topic, batch);
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    const seconds = (performance.now() - started) / 1000;
    return { mode, records, seconds, recordsPerSecond: Math.round(records / seconds) };
  } finally {
    await connector.close();
  }
}

/** Consumes `records` records of `topic` from the beginning with one member and returns its rate. */
export async function benchConsume(
  options: KafkaConnectorOptions,
  topic: string,
  records: number,
): Promise<BenchResult> {
  const connector = new KafkaConnector(options);
  try {
    await connector.connect();
    let got = 0;
    let started = 0;
    let finished = 0;
    const sub = await connector.subscribe({
      group: `bench-${crypto.randomUUID().slice(0, 8)}`,
      topics: [topic],
      fromBeginning: true,
      onBatch: async (batch) => {
        if (started === 0) started = performance.now();
        got += batch.records.length;
        await sub.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset);
        if (got >= records && finished === 0) finished = performance.now();
      },
    });
    const deadline = Date.now() + 120_000;
    while (finished === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await sub.close();
    const seconds = ((finished || performance.now()) - started) / 1000;
    return {
      mode: "consume (1 member, commit per batch)",
      records: got,
      seconds,
      recordsPerSecond: Math.round(got / seconds),
    };
  } finally {
    await connector.close();
  }
}

if (import.meta.main) {
  const brokers = Deno.env.get("KAFKA_BROKERS");
  if (!brokers) {
    console.error("KAFKA_BROKERS is not set");
    Deno.exit(2);
  }
  const records = Number(Deno.args[0] ?? 50_000);
  const base: KafkaConnectorOptions = { brokers: brokers.split(","), clientId: "qistream-bench" };
  const admin = new KafkaConnector(base);
  await admin.connect();
  const topics: string[] = [];
  const topic = async () => {
    const name = `bench-${crypto.randomUUID().slice(0, 8)}`;
    await admin.admin.createTopics([{ name, partitions: 6, replicationFactor: 1, config: {} }]);
    topics.push(name);
    return name;
  };
  const results: BenchResult[] = [];
  try {
    const lingerTopic = await topic();
    results.push(
      await benchPublish(
        "linger 5 ms, 1 record/call, 2000 calls in flight",
        { ...base, linger: 5 },
        lingerTopic,
        records,
        1,
        2000,
      ),
    );
    results.push(
      await benchPublish(
        "linger 0 + gzip, 1 record/call, 2000 calls in flight",
        { ...base, compression: "gzip" },
        await topic(),
        records,
        1,
        2000,
      ),
    );
    results.push(
      await benchPublish(
        "arrays of 500 records/call, 4 calls in flight",
        base,
        await topic(),
        records,
        500,
        4,
      ),
    );
    const perRecord = Math.min(records, 5000);
    results.push(
      await benchPublish(
        "one send per record (batchRecords 1), 2000 calls in flight",
        { ...base, batchRecords: 1 },
        await topic(),
        perRecord,
        1,
        2000,
      ),
    );
    results.push(
      await benchPublish(
        "linger 0, 1 record/call, 2000 calls in flight",
        { ...base, linger: 0 },
        await topic(),
        records,
        1,
        2000,
      ),
    );
    results.push(
      await benchPublish(
        "sequential awaited publish, linger 5 ms",
        { ...base, linger: 5 },
        await topic(),
        Math.min(records, 2000),
        1,
        1,
      ),
    );
    results.push(
      await benchPublish(
        "sequential awaited publish, linger 0",
        { ...base, linger: 0 },
        await topic(),
        Math.min(records, 2000),
        1,
        1,
      ),
    );
    results.push(await benchConsume(base, lingerTopic, records + 1));
  } finally {
    await admin.admin.deleteTopics(topics);
    await admin.close();
  }
  console.log("| mode | records | seconds | records/s |\n|---|---:|---:|---:|");
  for (const r of results) {
    console.log(`| ${r.mode} | ${r.records} | ${r.seconds.toFixed(2)} | ${r.recordsPerSecond} |`);
  }
}
