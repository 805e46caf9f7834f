/**
 * librdkafka's producer, through confluent-kafka's Python binding (its wheel bundles librdkafka with every
 * codec), installed from PyPI into `.cache/interop` on first use; for tests that show qistream reads what
 * librdkafka writes. Needs `python3` with pip.
 *
 * @module
 */
import { type JavaCompression, type JavaRecord, recordsFile } from "./kafka_java_client.ts";

/** The confluent-kafka release used (it bundles librdkafka 2.16). */
export const CONFLUENT_KAFKA_VERSION = "2.16.1";

const ROOT = new URL("../../", import.meta.url).pathname;
const TARGET = `${ROOT}.cache/interop/confluent-kafka-${CONFLUENT_KAFKA_VERSION}`;
const SCRIPT = new URL("./librdkafka_producer.py", import.meta.url).pathname;

/** True when `python3` runs here (the librdkafka producer needs it). */
export function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

async function python(args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command("python3", { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `python3 ${args.slice(0, 4).join(" ")} failed (${out.code}): ${
        new TextDecoder().decode(out.stderr).slice(-3000)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Installs confluent-kafka into the cache once. */
async function ensureInstalled(): Promise<void> {
  try {
    await Deno.stat(`${TARGET}/confluent_kafka`);
    return;
  } catch {
    // not installed yet
  }
  await python([
    "-m",
    "pip",
    "install",
    "--quiet",
    "--disable-pip-version-check",
    "--target",
    TARGET,
    `confluent-kafka==${CONFLUENT_KAFKA_VERSION}`,
  ]);
}

/**
 * Sends records to `topic` with librdkafka: one producer per entry, in order, with that entry's
 * `compression.type` (linger 100 ms, acks=all); resolves when all are delivered.
 *
 * @returns how many records were delivered
 */
export async function librdkafkaProduce(
  brokers: string,
  topic: string,
  batches: { compression: JavaCompression; records: JavaRecord[] }[],
): Promise<number> {
  await ensureInstalled();
  const file = await Deno.makeTempFile({ suffix: ".tsv" });
  try {
    await Deno.writeTextFile(file, recordsFile(batches));
    const out = await python([SCRIPT, brokers, topic, file], { PYTHONPATH: TARGET });
    const match = out.match(/^produced (\d+)$/m);
    if (!match) throw new Error(`librdkafka_producer.py printed no count:\n${out.slice(-1000)}`);
    return Number(match[1]);
  } finally {
    await Deno.remove(file);
  }
}
