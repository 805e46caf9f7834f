/**
 * Kafka's own Java producer and consumer (`KafkaJavaClient.java` on the kafka-clients jars the test services
 * fetch, `KAFKA_LIBS` and `KAFKA_JAVA`), for tests that show qistream reads what Java writes and the reverse.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { runKafkaJava } from "./run_kafka_java.ts";

/** One record for or from the Java client; a `null` key is sent as null. */
export interface JavaRecord {
  key: Uint8Array | null;
  value: Uint8Array;
}

const SOURCE = new URL("./KafkaJavaClient.java", import.meta.url).pathname;

/**
 * Why the Java client cannot run here, or `undefined` when it can: it needs `KAFKA_LIBS` (the test services) and
 * a JDK (`java File.java` compiles the source with the `jdk.compiler` module, which a bare runtime lacks).
 */
export function javaClientUnavailable(): string | undefined {
  if (!Deno.env.get("KAFKA_LIBS")) return "KAFKA_LIBS is not set";
  try {
    const out = new Deno.Command(Deno.env.get("KAFKA_JAVA") ?? "java", {
      args: ["--list-modules"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!new TextDecoder().decode(out.stdout).includes("jdk.compiler")) {
      return "the Java of the test services is a runtime without jdk.compiler (install a JDK)";
    }
  } catch {
    return "java does not run";
  }
  return undefined;
}

function hex(bytes: Uint8Array | null): string {
  return bytes === null ? "" : Buffer.from(bytes).toString("hex");
}

/** The records file both interop producers read: `COMPRESSION<TAB>KEYHEX<TAB>VALUEHEX` per line. */
export function recordsFile(batches: { compression: string; records: JavaRecord[] }[]): string {
  return batches.flatMap((b) => b.records.map((r) => `${b.compression}\t${hex(r.key)}\t${hex(r.value)}\n`))
    .join("");
}

async function run(args: string[]): Promise<string> {
  const classpath = Deno.env.get("KAFKA_LIBS");
  if (!classpath) throw new Error("KAFKA_LIBS is not set: start the test services (deno task services up)");
  return await runKafkaJava(Deno.env.get("KAFKA_JAVA") ?? "java", classpath, SOURCE, args);
}

/** A compression the Java producer can use. */
export type JavaCompression = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/**
 * Sends records to `topic` with Kafka's Java producer in one JVM: one producer per entry, in order, with that
 * entry's `compression.type` (batched: linger 100 ms, 1 MiB batches, acks=all); resolves when all are
 * acknowledged.
 *
 * @returns how many records the producers reported sent
 */
export async function javaProduce(
  brokers: string,
  topic: string,
  batches: { compression: JavaCompression; records: JavaRecord[] }[],
): Promise<number> {
  const file = await Deno.makeTempFile({ suffix: ".tsv" });
  try {
    await Deno.writeTextFile(file, recordsFile(batches));
    const out = await run(["produce", brokers, topic, file]);
    const match = out.match(/^produced (\d+)$/m);
    if (!match) throw new Error(`KafkaJavaClient produce printed no count:\n${out.slice(-1000)}`);
    return Number(match[1]);
  } finally {
    await Deno.remove(file);
  }
}

/** Reads `topic` from the beginning with Kafka's Java consumer until `count` records or `timeoutMs`. */
export async function javaConsume(
  brokers: string,
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<JavaRecord[]> {
  const out = await run(["consume", brokers, topic, String(count), String(timeoutMs)]);
  const records: JavaRecord[] = [];
  for (const line of out.split("\n")) {
    if (line === "" || line.startsWith("consumed ")) continue;
    const [key = "", value = ""] = line.split("\t");
    records.push({ key: key === "" ? null : Buffer.from(key, "hex"), value: Buffer.from(value, "hex") });
  }
  return records;
}
