/**
 * The product as shipped: `main.ts start` with the repository's unchanged `pipeline.yaml`, only the four
 * service variables set (plus a free HTTP port and a fresh data directory, since other nodes may share this
 * machine), against the real Kafka, registry, PostgreSQL and ClickHouse. Ticks reach both tables, `/readyz` is
 * ready, lag is measured for the consumer groups. Then, with the node stopped, Kafka's own Java producer writes
 * gzip, snappy, lz4 and zstd batches of Avro ticks (Confluent wire format, the registered schema) into
 * `market.ticks`, and once the node is started again each codec's N records become exactly N rows in PostgreSQL
 * and in ClickHouse.
 *
 * The test uses the shipped names (topic `market.ticks`, groups `qistream.postgres-sink` and
 * `qistream.clickhouse-sink`, tables `market_ticks`) and tells its own rows apart by symbol and start time.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createClient } from "@clickhouse/client";
import postgres from "postgres";
import { parse as parseYaml } from "yaml";
import { AvroSerde } from "../../connector/avro/mod.ts";
import { openSchemaRegistry } from "../../connector/registry/mod.ts";
import { KafkaConnector } from "../../connector/kafka/kafka_connector.ts";
import { javaClientUnavailable, javaProduce, type JavaRecord } from "../interop/kafka_java_client.ts";
import { needs, services } from "../service_env.ts";
import { runId, spawnStart, type StartedProcess, untilBanner, waitFor } from "./_pipeline_harness.ts";

const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const PER_CODEC = 250;
const SHIPPED_GROUPS = ["qistream.postgres-sink", "qistream.clickhouse-sink"];

async function text(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

const noJava = javaClientUnavailable();
const serviceNeeds = needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL", "CLICKHOUSE_URL");

Deno.test({
  ignore: serviceNeeds.ignore || noJava !== undefined,
  name: "shipped pipeline.yaml on the real services: ticks in both tables, ready, lag measured; " +
    "alerts from the market monitor, restored from its checkpoints after a restart; " +
    `gzip/snappy/lz4/zstd batches the Java producer left in market.ticks give exactly N rows each${
      noJava ? ` (skipped: ${noJava})` : ""
    }`,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-shipped-" });
    const started = Date.now();
    const env = {
      KAFKA_BROKERS: services.kafkaBrokers!.join(","),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl!,
      DATABASE_URL: services.databaseUrl!,
      CLICKHOUSE_URL: services.clickhouseUrl!,
      QISTREAM_HTTP_PORT: "0",
      QISTREAM_DATA_DIR: dataDir,
    };
    const node = spawnStart([], env);
    let again: StartedProcess | undefined;
    const sql = postgres(services.databaseUrl!, { max: 1, onnotice: () => {} });
    const ch = createClient({ url: services.clickhouseUrl });
    const kafka = new KafkaConnector({ brokers: services.kafkaBrokers! });
    try {
      const url = await untilBanner(node, "the start banner", 120_000);

      // 1. Synthetic ticks reach both tables.
      const pgSynthetic = async () =>
        (await sql`SELECT count(*)::int AS n FROM market_ticks
                   WHERE source = 'synthetic' AND ts >= to_timestamp(${started / 1000})`)[0]!.n as number;
      const chSynthetic = async () => {
        const rs = await ch.query({
          query: `SELECT count() AS n FROM market_ticks WHERE source = 'synthetic' AND ts >= ${started}`,
          format: "JSONEachRow",
        });
        return Number((await rs.json<{ n: string }>())[0]!.n);
      };
      await waitFor("synthetic ticks in PostgreSQL and ClickHouse", async () => {
        const seen = { postgres: await pgSynthetic(), clickhouse: await chSynthetic() };
        return { done: seen.postgres >= 20 && seen.clickhouse >= 20, seen };
      }, 120_000);

      // 2. Ready, and lag is measured for both shipped consumer groups.
      await waitFor("/readyz 200", async () => {
        const r = await text(`${url}/readyz`);
        return { done: r.status === 200, seen: r };
      }, 60_000);
      // Lag is measured on a timer from the broker's offsets: a series for each of the 6 partitions per group,
      // also those no synthetic symbol fills.
      await waitFor("qistream_consumer_lag series of both groups on market.ticks", async () => {
        const metrics = (await text(`${url}/metrics`)).body;
        const series = metrics.split("\n").filter((l) =>
          l.startsWith("qistream_consumer_lag{") && l.includes('topic="market.ticks"')
        );
        const groups = SHIPPED_GROUPS.map((g) => series.filter((l) => l.includes(`group="${g}"`)).length);
        return { done: groups.every((n) => n === 6), seen: { groups, series } };
      }, 60_000);

      // 2b. The market monitor raises alerts from the synthetic market's injected anomalies.
      await waitFor("alerts_total in /metrics (the market monitor's first alerts)", async () => {
        const lines = (await text(`${url}/metrics`)).body.split("\n").filter((l) =>
          l.startsWith("alerts_total{")
        );
        return { done: lines.length > 0, seen: lines };
      }, 120_000);
      // …which the sinks store, with their provenance.
      await waitFor("market-monitor alerts in PostgreSQL's market_alerts", async () => {
        const rows = await sql`SELECT rule, status, dedup_key, inputs FROM market_alerts
                               WHERE source = 'market-monitor' AND ts >= to_timestamp(${started / 1000})`;
        const done = rows.length > 0 && rows.every((r) => r.dedup_key !== "" && Array.isArray(r.inputs));
        return { done, seen: rows.slice(0, 3) };
      }, 60_000);

      // 3. With the node stopped, Kafka's Java producer writes each codec's batches of Avro ticks (encoded with
      //    the schema the node registered) into market.ticks; the restarted node finds them waiting.
      const registry = openSchemaRegistry({ url: services.schemaRegistryUrl! }, dataDir);
      const serde = new AvroSerde({ registry });
      const run = runId().toUpperCase();
      const base = Date.now();
      const batches = await Promise.all(CODECS.map(async (compression) => {
        const symbol = `JAVA-${compression.toUpperCase()}-${run}`;
        const records: JavaRecord[] = [];
        for (let i = 0; i < PER_CODEC; i++) {
          const tick = {
            symbol,
            source: "java-producer",
            exchange: null,
            ts: base + i,
            price: 100 + i / 100,
            bid: null,
            ask: null,
            volume: null,
            bidSize: null,
            askSize: null,
            currency: null,
            receivedAt: null,
          };
          records.push({ key: Buffer.from(symbol), value: await serde.encode("market.ticks", tick) });
        }
        return { compression, records, symbol };
      }));
      node.child.kill("SIGTERM");
      assert.equal((await node.status).code, 0, node.output().slice(-3000));
      assert.equal(
        await javaProduce(services.kafkaBrokers!.join(","), "market.ticks", batches),
        CODECS.length * PER_CODEC,
      );

      // 4. Started again as shipped: every codec's N records become exactly N rows in PostgreSQL and ClickHouse.
      again = spawnStart([], env);
      const url2 = await untilBanner(again, "the second start banner", 120_000);
      const symbols = batches.map((b) => b.symbol);
      await waitFor(`${PER_CODEC} rows per codec in PostgreSQL and ClickHouse`, async () => {
        const pg = Object.fromEntries(
          (await sql`SELECT symbol, count(*)::int AS n FROM market_ticks
                     WHERE symbol IN ${sql(symbols)} GROUP BY symbol`).map((r) => [r.symbol, r.n as number]),
        );
        // ClickHouse 18.16 has no query parameters; the symbols are [A-Z0-9-], made above.
        const rs = await ch.query({
          query: `SELECT symbol, count() AS n FROM market_ticks FINAL
                  WHERE symbol IN (${symbols.map((s) => `'${s}'`).join(", ")}) GROUP BY symbol`,
          format: "JSONEachRow",
        });
        const chRows = Object.fromEntries(
          (await rs.json<{ symbol: string; n: string }>()).map((r) => [r.symbol, Number(r.n)]),
        );
        const done = symbols.every((s) => pg[s] === PER_CODEC && chRows[s] === PER_CODEC);
        return { done, seen: { postgres: pg, clickhouse: chRows } };
      }, 120_000);

      // The topic is as the shipped file declares it (compression.type=producer): the batches kept their codecs.
      await kafka.connect();
      const [topic] = await kafka.admin.describeTopics(["market.ticks"]);
      assert.equal(topic?.config["compression.type"], "producer");
      const r = await text(`${url2}/readyz`);
      assert.equal(r.status, 200, r.body);
      // The restarted monitor resumed from its checkpoints, not from scratch.
      await waitFor("the restarted monitor restored its checkpoints", async () => {
        const lines = (await text(`${url2}/metrics`)).body.split("\n")
          .filter((l) => l.startsWith("monitor_state_restores_total{") && l.includes('from="checkpoint"'));
        return { done: lines.length > 0, seen: again!.output().match(/market monitor: [^"]*/g)?.slice(0, 6) };
      }, 60_000);
      assert.doesNotMatch(
        node.output() + again.output(),
        /KafkaJSNotImplemented|DecompressionError|UnsupportedCompressionError/,
      );
    } finally {
      await node.kill();
      await again?.kill();
      await kafka.close().catch(() => {});
      await sql.end();
      await ch.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("shipped configs: pipeline.yaml and the Kubernetes ConfigMap declare the same compression and cleanup policy, which the node reads", async () => {
  const read = (path: string) => Deno.readTextFile(new URL(`../../${path}`, import.meta.url));
  const topicsOf = (yaml: string) =>
    Object.fromEntries(
      Object.entries(
        (parseYaml(yaml) as { topics: Record<string, { compression?: string; cleanupPolicy?: string }> })
          .topics,
      ).map((
        [name, t],
      ) => [name, { compression: t.compression ?? "none", cleanupPolicy: t.cleanupPolicy ?? "delete" }]),
    );
  const repository = topicsOf(await read("pipeline.yaml"));
  const configMap = parseYaml(await read("deploy/kubernetes/configmap.yaml")) as {
    data: { "pipeline.yaml": string };
  };
  assert.deepEqual(topicsOf(configMap.data["pipeline.yaml"]), repository);
  const { kafkaCodecs } = await import("../../connector/kafka/kafka_codecs.ts");
  for (const [name, t] of Object.entries(repository)) {
    assert.ok(
      t.compression === "none" || t.compression in kafkaCodecs,
      `${name}: ${t.compression} has a codec`,
    );
  }
});
