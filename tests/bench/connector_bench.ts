/**
 * `deno task bench connector`: produce and consume throughput of qistream's Kafka connector for ~200-byte Avro
 * records (Confluent wire format, `market.alert` v1), beside Kafka's own ProducerPerformance and
 * ConsumerPerformance and a raw kafkajs loop, all against the same broker in the same run.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Kafka, logLevel } from "kafkajs";
import { AvroSerde } from "../../connector/avro/mod.ts";
import { KafkaConnector } from "../../connector/kafka/kafka_connector.ts";
import { openSchemaRegistry } from "../../connector/registry/open_schema_registry.ts";
import type { OutgoingRecord } from "../../connector/types.ts";
import { type BenchResult, type BenchRow, formatBenchTable, perSecond } from "./bench_report.ts";
import { consumerPerformance, producerPerformance } from "./kafka_perf_tools.ts";

/** Options of the connector benchmark. */
export interface ConnectorBenchOptions {
  brokers: string[];
  schemaRegistryUrl?: string;
  java: string;
  kafkaClasspath: string;
  records: number;
  /** Records per `publish` call and how many calls are in flight at once. */
  publishBatch: number;
  inFlight: number;
  progress(message: string): void;
}

const PARTITIONS = 6;
const SYMBOLS = [
  "BTC-USD",
  "ETH-USD",
  "SOL-USD",
  "XRP-USD",
  "ADA-USD",
  "AAPL",
  "MSFT",
  "NVDA",
  "EUR-USD",
  "GBP-USD",
];

/** A realistic price-move alert; encoded it is about 200 bytes. */
function alert(i: number): Record<string, unknown> {
  const symbol = SYMBOLS[i % SYMBOLS.length]!;
  const move = ((i * 7919) % 500) / 100;
  return {
    id: `alert-${i.toString(36).padStart(8, "0")}-${symbol}`,
    ts: 1_767_225_600_000 + i,
    symbol,
    source: "synthetic",
    rule: "price_move_pct",
    severity: move > 4 ? "CRITICAL" : move > 2 ? "WARNING" : "INFO",
    message: `${symbol} moved ${move.toFixed(2)}% in 60 s, above the 2.00% threshold`,
    value: move,
    threshold: 2,
    attributes: { window: "60s", baseline: "ewma-15m", exchange: "CCCAGG" },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

/** Runs `work` over `items` with at most `limit` calls in flight. */
async function withConcurrency<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs the benchmark and returns the report table. */
export async function connectorBench(options: ConnectorBenchOptions): Promise<BenchResult> {
  const { records: n, progress } = options;
  const run = crypto.randomUUID().slice(0, 8);
  const topics = { java: `bench.java.${run}`, ours: `bench.qistream.${run}`, raw: `bench.kafkajs.${run}` };
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-bench-" });
  const registry = openSchemaRegistry(
    options.schemaRegistryUrl ? { url: options.schemaRegistryUrl } : undefined,
    dataDir,
  );
  const serde = new AvroSerde({ registry });
  const schema = JSON.parse(
    await Deno.readTextFile(new URL("../../schemas/market.alert/v1.avsc", import.meta.url)),
  );
  await registry.register(`${topics.ours}-value`, schema);

  const connector = new KafkaConnector({ brokers: options.brokers, clientId: `bench-${run}` });
  await connector.connect();
  const rows: BenchRow[] = [];
  try {
    await connector.admin.createTopics(
      Object.values(topics).map((name) => ({
        name,
        partitions: PARTITIONS,
        replicationFactor: 1,
        config: {},
      })),
    );
    const values = Array.from({ length: n }, (_, i) => alert(i));
    const sample = await serde.encode(topics.ours, values[0]);
    const sizes = await Promise.all(values.slice(0, 1000).map((v) => serde.encode(topics.ours, v)));
    const recordSize = Math.round(sizes.reduce((sum, b) => sum + b.length, 0) / sizes.length);
    progress(
      `${n} records of ~${recordSize} bytes (Confluent-framed Avro, market.alert v1; first ${sample.length} B)`,
    );

    progress("baseline: Kafka's ProducerPerformance (acks=all, idempotent, linger.ms=5)");
    const javaProduce = await producerPerformance({
      java: options.java,
      classpath: options.kafkaClasspath,
      brokers: options.brokers.join(","),
      topic: topics.java,
      records: n,
      recordSize,
    });

    // One send at a time: kafkajs's idempotent producer breaks its sequence numbers under concurrent sends
    // ("failed the validation on broker"), which is why the connector serialises its sends too.
    progress("baseline: raw kafkajs producer loop (idempotent, acks=all, same batches, one send at a time)");
    const kafka = new Kafka({
      clientId: `bench-raw-${run}`,
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
    });
    const rawProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await rawProducer.connect();
    const encoded = await Promise.all(values.map((v) => serde.encode(topics.ours, v)));
    const rawMessages = encoded.map((value, i) => ({
      key: SYMBOLS[i % SYMBOLS.length]!,
      value: Buffer.from(value), // kafkajs needs a Buffer; a plain Uint8Array is sent as its String()
    }));
    const raw = await timed(() =>
      withConcurrency(
        chunks(rawMessages, options.publishBatch),
        1,
        (messages) => rawProducer.send({ topic: topics.raw, acks: -1, messages }),
      )
    );
    await rawProducer.disconnect();

    progress(`qistream: encode + publish in calls of ${options.publishBatch}, ${options.inFlight} in flight`);
    const ours = await timed(() =>
      withConcurrency(
        chunks(values.map((v, i) => ({ v, i })), options.publishBatch),
        options.inFlight,
        async (batch) => {
          const out: OutgoingRecord[] = await Promise.all(batch.map(async ({ v, i }) => ({
            key: SYMBOLS[i % SYMBOLS.length]!,
            value: await serde.encode(topics.ours, v),
          })));
          await connector.publish(topics.ours, out);
        },
      )
    );
    rows.push({
      name: "produce (encode + publish, acked)",
      rate: perSecond(n, ours.ms),
      unit: "rec/s",
      baseline: { name: "Kafka ProducerPerformance", rate: javaProduce.recordsPerSecond },
    });
    rows.push({
      name: "produce (encode + publish, acked)",
      rate: perSecond(n, ours.ms),
      unit: "rec/s",
      baseline: { name: "raw kafkajs send loop (pre-encoded)", rate: perSecond(n, raw.ms) },
    });

    // Consumption is compared on both topics: the Java consumer is much slower on kafkajs-written partitions
    // (many small record batches) than on ProducerPerformance's, so the fair pair is the same data for both.
    const consumeRows: [string, string, boolean][] = [
      [topics.java, "consume ProducerPerformance's records (fetch + commit)", false],
      [topics.ours, "consume qistream's records (fetch + Avro decode + commit)", true],
    ];
    const summaries: string[] = [];
    for (const [topic, name, decode] of consumeRows) {
      progress(`baseline: Kafka's ConsumerPerformance on ${topic}`);
      const java = await consumerPerformance({
        java: options.java,
        classpath: options.kafkaClasspath,
        brokers: options.brokers.join(","),
        topic,
        records: n,
      });
      summaries.push(`Kafka ConsumerPerformance on ${topic}: ${java.summary}`);
      progress(`qistream: ${name}`);
      const ms = await consumeAll(connector, topic, `bench-${run}-${topic}`, n, decode ? serde : undefined);
      rows.push({
        name,
        rate: perSecond(n, ms),
        unit: "rec/s",
        baseline: {
          name: "Kafka ConsumerPerformance on the same topic (fetch rate)",
          rate: java.recordsPerSecond,
        },
      });
    }

    await connector.admin.deleteTopics(Object.values(topics)).catch(() => {});
    const report = formatBenchTable(
      `connector benchmark: ${n} records of ~${recordSize} B, ${PARTITIONS} partitions, one broker on loopback`,
      rows,
    ) +
      `\n\nKafka ProducerPerformance: ${javaProduce.summary}\n${summaries.join("\n")}`;
    return { report, rows };
  } finally {
    await connector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/**
 * Reads `n` records of a topic from the beginning with a fresh group, decoding each when a serde is given and
 * committing every batch; returns the milliseconds from the first batch to the last.
 */
async function consumeAll(
  connector: KafkaConnector,
  topic: string,
  group: string,
  n: number,
  serde?: AvroSerde,
): Promise<number> {
  let consumed = 0;
  let firstBatchAt = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const subscription = await connector.subscribe({
    group,
    topics: [topic],
    fromBeginning: true,
    onBatch: async (batch) => {
      if (firstBatchAt === 0) firstBatchAt = performance.now();
      if (serde) { for (const record of batch.records) await serde.decode(record.value!); }
      const last = batch.records.at(-1);
      if (last) await subscription.commit(batch.topic, batch.partition, last.offset);
      consumed += batch.records.length;
      if (consumed >= n) done();
    },
  });
  const timeout = setTimeout(() => done(), 300_000);
  await finished;
  clearTimeout(timeout);
  const ms = performance.now() - firstBatchAt;
  await subscription.close();
  if (consumed < n) throw new Error(`consumed only ${consumed} of ${n} records of ${topic} within 300 s`);
  return ms;
}
