/**
 * Helpers for the tests that run real nodes (`main.ts start`) on Kafka: a pipeline file per run, a view of what a
 * topic holds (decoded ticks), and the node's HTTP API.
 *
 * @module
 */
import { join } from "node:path";
import { AvroSerde } from "../../connector/avro/mod.ts";
import { openConnector } from "../../connector/open_connector.ts";
import { readTopicToEnd } from "../../connector/read_topic_to_end.ts";
import { openSchemaRegistry } from "../../connector/registry/mod.ts";
import type { StreamConnector } from "../../connector/types.ts";
import { services } from "../service_env.ts";
import { testConfig } from "./_pipeline_harness.ts";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";

/** The environment a node of these tests gets: the real services. */
export function serviceEnv(): Record<string, string> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: services.kafkaBrokers!.join(","),
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl!,
  };
  if (services.databaseUrl) env.DATABASE_URL = services.databaseUrl;
  if (services.clickhouseUrl) env.CLICKHOUSE_URL = services.clickhouseUrl;
  return env;
}

/** A JSONL file of `n` ticks over five symbols, one every `stepMs` of event time; returns its path. */
export async function writeTickFile(dir: string, n: number, stepMs: number): Promise<string> {
  const symbols = ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT"];
  const t0 = Date.UTC(2026, 0, 5, 14, 0, 0);
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      symbol: symbols[i % symbols.length],
      ts: t0 + i * stepMs,
      price: 100 + (i % 97) / 10,
      volume: 1 + (i % 7),
    }));
  const path = join(dir, "ticks.jsonl");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** Reads a ticks topic: every record decoded, and how many distinct (symbol, ts) it holds. */
export class TopicProbe {
  readonly #connector: StreamConnector;
  readonly #serde: AvroSerde;
  #connected: Promise<void> | undefined;

  constructor(dataDir: string) {
    const config = testConfig("", serviceEnv());
    this.#connector = openConnector(config);
    this.#serde = new AvroSerde({ registry: openSchemaRegistry(config.connections.schemaRegistry, dataDir) });
  }

  /** Records in the topic (high - low over its partitions). */
  async count(topic: string): Promise<number> {
    await (this.#connected ??= this.#connector.connect());
    const offsets = await this.#connector.offsets(topic);
    return offsets.reduce((n, o) => n + Number(BigInt(o.high) - BigInt(o.low)), 0);
  }

  /** Every tick of the topic: total records and distinct (symbol, ts). */
  async ticks(topic: string): Promise<{ total: number; distinct: number }> {
    await (this.#connected ??= this.#connector.connect());
    const records = await readTopicToEnd(this.#connector, topic, { timeoutMs: 30_000 });
    const keys = new Set<string>();
    for (const r of records) {
      const tick = (await this.#serde.decode(r.value!)).value as { symbol: string; ts: number | bigint };
      keys.add(`${tick.symbol}@${tick.ts}`);
    }
    return { total: records.length, distinct: keys.size };
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#connector.close();
  }
}

/** GETs a node's `/api/...` with its local token (the node writes it to its data dir). */
export async function api(url: string, dataDir: string, path: string): Promise<unknown> {
  const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}
