/**
 * Kafka's own performance tools (`org.apache.kafka.tools.ProducerPerformance` and `ConsumerPerformance`, from
 * the Maven Central jars the test services fetch), run against the same broker as the baselines.
 *
 * @module
 */
import { runKafkaJava } from "../interop/run_kafka_java.ts";

/** What one Kafka perf tool run reported. */
export interface PerfToolResult {
  recordsPerSecond: number;
  /** The tool's own summary line, for the report. */
  summary: string;
}

/**
 * `ProducerPerformance` with the same guarantees qistream's producer uses: acks=all, idempotence, linger 5 ms.
 * Parses "N records sent, R records/sec (...)". With `transactionalId`, it writes in transactions committed every
 * `transactionDurationMs` (each commit leaves a control record, a marker, in every partition it wrote).
 */
export async function producerPerformance(options: {
  java: string;
  classpath: string;
  brokers: string;
  topic: string;
  records: number;
  /** Random payloads of this many bytes; without it, the values are "0", "1", "2", ... (`--payload-monotonic`). */
  recordSize?: number;
  /** Records per second (default -1: as fast as it can). */
  throughput?: number;
  transactionalId?: string;
  transactionDurationMs?: number;
}): Promise<PerfToolResult> {
  const out = await runKafkaJava(
    options.java,
    options.classpath,
    "org.apache.kafka.tools.ProducerPerformance",
    [
      "--topic",
      options.topic,
      "--num-records",
      String(options.records),
      ...(options.recordSize === undefined
        ? ["--payload-monotonic"]
        : ["--record-size", String(options.recordSize)]),
      "--throughput",
      String(options.throughput ?? -1),
      ...(options.transactionalId === undefined ? [] : [
        "--transactional-id",
        options.transactionalId,
        "--transaction-duration-ms",
        String(options.transactionDurationMs ?? 100),
      ]),
      "--producer-props",
      `bootstrap.servers=${options.brokers}`,
      "acks=all",
      "enable.idempotence=true",
      "linger.ms=5",
    ],
  );
  const summary = out.trim().split("\n").filter((l) => l.includes("records sent")).at(-1) ?? "";
  const match = summary.match(/records sent, ([\d.]+) records\/sec/);
  if (!match) throw new Error(`Cannot read ProducerPerformance's summary from:\n${out.slice(-1000)}`);
  return { recordsPerSecond: Number(match[1]), summary };
}

/**
 * `ConsumerPerformance` reading `records` records of a topic from the beginning with a fresh group.
 * Uses `fetch.nMsg.sec` (records/s once fetching started, the group join excluded).
 */
export async function consumerPerformance(options: {
  java: string;
  classpath: string;
  brokers: string;
  topic: string;
  records: number;
}): Promise<PerfToolResult> {
  const out = await runKafkaJava(
    options.java,
    options.classpath,
    "org.apache.kafka.tools.ConsumerPerformance",
    [
      "--bootstrap-server",
      options.brokers,
      "--topic",
      options.topic,
      "--messages",
      String(options.records),
      "--group",
      `bench-java-${crypto.randomUUID().slice(0, 8)}`,
      "--timeout",
      "60000",
    ],
  );
  const lines = out.trim().split("\n");
  const headerIndex = lines.findIndex((l) => l.startsWith("start.time"));
  const header = lines[headerIndex]?.split(",").map((s) => s.trim()) ?? [];
  const values = lines[headerIndex + 1]?.split(",").map((s) => s.trim()) ?? [];
  const column = header.indexOf("fetch.nMsg.sec");
  const rate = Number(values[column]);
  if (column < 0 || !Number.isFinite(rate)) {
    throw new Error(`Cannot read ConsumerPerformance's summary from:\n${out.slice(-1000)}`);
  }
  return {
    recordsPerSecond: rate,
    summary: `${values[header.indexOf("data.consumed.in.nMsg")]} records, ${rate} records/s (fetch)`,
  };
}
