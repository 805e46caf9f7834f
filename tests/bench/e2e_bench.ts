/**
 * `deno task bench e2e`: end-to-end latency — from the moment a tick is handed to the producer to the moment its
 * row is visible in PostgreSQL (and ClickHouse) — at sustained rates on real Kafka, beside a hand-written
 * pipeline measured the same way in the same run.
 *
 * For each rate, for `seconds` (after a warm-up):
 * - **qistream**: a node (`main.ts start`, postgres-sink with 2 instances in one group, and clickhouse-sink when
 *   ClickHouse is given) consumes a topic of its own; the benchmark publishes `market.tick` Avro records at the
 *   rate, each stamped `ts = Date.now()` just before it is published. The sink's table gets a column
 *   `visible_at timestamptz DEFAULT clock_timestamp()` (added after the node created the table), so every row
 *   carries the time its insert ran: latency = `visible_at - ts`, for every row, percentiles in SQL. It runs with
 *   the shipped batch settings (500 records / 200 ms, as pipeline.yaml) and with `maxWaitMs: 0` (a batch leaves
 *   as soon as an actor has credit).
 * - **baseline**: the loop a user would otherwise write — kafkajs `eachBatch` → Avro decode → one `INSERT …
 *   unnest … ON CONFLICT DO NOTHING` with the same client library → commit — on a copy of the same table.
 * - **ClickHouse** (18.16 has no sub-second `DEFAULT now64()`): a probe tick every 50 ms with its own symbol; a
 *   poller asks for new probes every 10 ms, latency = first seen − ts (resolution ≈ the poll).
 * - **lag**: the node's `qistream_consumer_lag_seconds`, its maximum over the window, scraped every second.
 *
 * After publishing stops it waits (bounded) for every published row, so late rows are counted, not censored;
 * rows that never arrive are reported as missing. Whatever it started it stops.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { AvroSerde } from "../../connector/avro/mod.ts";
import { KafkaConnector } from "../../connector/kafka/kafka_connector.ts";
import { openSchemaRegistry } from "../../connector/registry/open_schema_registry.ts";
import { spawnStart, type StartedProcess, untilBanner } from "../e2e/_pipeline_harness.ts";

/** Options of the end-to-end latency benchmark. */
export interface E2eBenchOptions {
  brokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  /** ClickHouse's HTTP URL; without it only PostgreSQL is measured. */
  clickhouseUrl?: string;
  /** Ticks per second, one measurement each (default 1 000 and 10 000). */
  rates?: number[];
  /** Measured seconds per run, after a 5 s warm-up (default 60). */
  seconds?: number;
  progress(message: string): void;
}

/** Latency percentiles of one run, in ms. */
export interface LatencyFigure {
  name: string;
  rate: number;
  rows: number;
  missing: number;
  p50: number;
  p99: number;
  max: number;
  /** Highest consumer lag the node reported during the window (s), when it is a node. */
  maxLagSeconds?: number;
}

const WARMUP_MS = 5000;
const DRAIN_MS = 60_000;
const PARTITIONS = 6;
const SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "AAPL", "MSFT", "NVDA", "EUR-USD", "GBP-USD"];
const PROBE = "PROBE-E2E";

/** Runs the benchmark; returns the report and the figures. */
export async function e2eBench(
  options: E2eBenchOptions,
): Promise<{ report: string; figures: LatencyFigure[] }> {
  const rates = options.rates ?? [1000, 10_000];
  const seconds = options.seconds ?? 60;
  const say = options.progress;
  const dir = await Deno.makeTempDir({ prefix: "qistream-bench-e2e-" });
  const run = `${Date.now().toString(36)}${crypto.randomUUID().slice(0, 4)}`;
  const sql = postgres(options.databaseUrl, { max: 2, onnotice: () => {} });
  const registry = openSchemaRegistry({ url: options.schemaRegistryUrl }, dir);
  const serde = new AvroSerde({ registry });
  const schema = JSON.parse(
    await Deno.readTextFile(new URL("../../schemas/market.tick/v1.avsc", import.meta.url)),
  );
  const connector = new KafkaConnector({ brokers: options.brokers, clientId: `bench-e2e-${run}` });
  await connector.connect();
  const figures: LatencyFigure[] = [];
  const tables: string[] = [];
  const topics: string[] = [];
  try {
    for (const rate of rates) {
      for (const maxWaitMs of [200, 0]) {
        const id = `${run}_${rate}_${maxWaitMs}`;
        const topic = `bench.e2e.${id}`;
        topics.push(topic);
        await connector.admin.createTopics([{
          name: topic,
          partitions: PARTITIONS,
          replicationFactor: 1,
          config: {},
        }]);
        await registry.register(`${topic}-value`, schema);
        const table = `bench_e2e_${id}`;
        tables.push(table);
        say(`qistream at ${rate}/s, batch 500 / ${maxWaitMs} ms: starting a node`);
        const node = spawnStart(["--config", await writeConfig(dir, id, topic, table, maxWaitMs, options)], {
          KAFKA_BROKERS: options.brokers.join(","),
          SCHEMA_REGISTRY_URL: options.schemaRegistryUrl,
          DATABASE_URL: options.databaseUrl,
          ...(options.clickhouseUrl ? { CLICKHOUSE_URL: options.clickhouseUrl } : {}),
          QISTREAM_LOG_LEVEL: "warning",
        });
        try {
          const url = await untilBanner(node, "the e2e node's banner", 120_000);
          await until(async () => (await tableExists(sql, table)), 60_000, "the sink's table", node);
          await sql.unsafe(
            `ALTER TABLE "${table}" ADD COLUMN visible_at timestamptz DEFAULT clock_timestamp()`,
          );
          const probes = options.clickhouseUrl
            ? new ClickHouseProbes(options.clickhouseUrl, table)
            : undefined;
          const lag = new LagScraper(url);
          const window = await publishAtRate(connector, serde, topic, rate, seconds, say, probes, lag);
          await until(async () => (await countIn(sql, table, window)) >= window.published, DRAIN_MS, "", node)
            .catch(() => {});
          const name = `qistream, batch 500 / ${maxWaitMs} ms${maxWaitMs === 200 ? " (shipped)" : ""}`;
          figures.push({
            ...(await latency(sql, table, window, name, rate)),
            maxLagSeconds: lag.stop(),
          });
          if (probes) {
            figures.push(await probes.stop(`ClickHouse probes (${name}, sink 2000 / 500 ms)`, rate));
          }
        } finally {
          await node.kill();
        }
      }
      const id = `${run}_${rate}_raw`;
      const topic = `bench.e2e.${id}`;
      topics.push(topic);
      await connector.admin.createTopics([{
        name: topic,
        partitions: PARTITIONS,
        replicationFactor: 1,
        config: {},
      }]);
      await registry.register(`${topic}-value`, schema);
      const table = `bench_e2e_${id}`;
      tables.push(table);
      await sql.unsafe(`CREATE TABLE "${table}" (LIKE "${tables.at(-2)}" INCLUDING ALL)`);
      say(`baseline at ${rate}/s: kafkajs eachBatch → INSERT … unnest → commit`);
      const loop = await rawLoop(options.brokers, topic, table, serde, options.databaseUrl);
      try {
        const window = await publishAtRate(connector, serde, topic, rate, seconds, say);
        await until(async () => (await countIn(sql, table, window)) >= window.published, DRAIN_MS, "")
          .catch(() => {});
        figures.push(
          await latency(sql, table, window, "baseline: kafkajs eachBatch → INSERT → commit", rate),
        );
      } finally {
        await loop.stop();
      }
    }
    return { report: formatLatency(figures, seconds), figures };
  } finally {
    for (const table of tables) await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`).catch(() => {});
    if (options.clickhouseUrl) {
      for (const table of tables) {
        await clickhouse(options.clickhouseUrl, `DROP TABLE IF EXISTS ${table}`).catch(() => {});
      }
    }
    await connector.admin.deleteTopics(topics).catch(() => {});
    await connector.close();
    await sql.end();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function writeConfig(
  dir: string,
  id: string,
  topic: string,
  table: string,
  maxWaitMs: number,
  options: E2eBenchOptions,
): Promise<string> {
  const file = join(dir, `pipeline-${id}.yaml`);
  const clickhouse = options.clickhouseUrl
    ? `
  ch:
    kind: clickhouse-sink
    instances: 2
    subscribe: { topics: [${topic}], group: bench.ch.${id} }
    batch: { maxRecords: 2000, maxWaitMs: 500 }
    config: { table: ${table} }`
    : "";
  await Deno.writeTextFile(
    file,
    `
node: { name: bench-e2e, dataDir: ${
      join(dir, `data-${id}`)
    }, http: { port: 0 }, deadLetterTopic: ${topic}.dlq }
topics:
  ${topic}: { partitions: ${PARTITIONS}, schema: market.tick }
  ${topic}.dlq: { partitions: 1 }
agents:
  pg:
    kind: postgres-sink
    instances: 2
    subscribe: { topics: [${topic}], group: bench.pg.${id} }
    batch: { maxRecords: 500, maxWaitMs: ${maxWaitMs} }
    config: { table: ${table} }${clickhouse}
`,
  );
  return file;
}

/** The publish window: ticks with `ts` in [from, to) are the measured ones. */
interface Window {
  from: number;
  to: number;
  published: number;
}

/**
 * Publishes ticks at `rate` for the warm-up plus `seconds`, in 10 ms slices (`rate / 100` ticks each, stamped just
 * before their publish call), keeping up to 8 calls in flight; returns the measured window.
 */
async function publishAtRate(
  connector: KafkaConnector,
  serde: AvroSerde,
  topic: string,
  rate: number,
  seconds: number,
  say: (m: string) => void,
  probes?: ClickHouseProbes,
  lag?: LagScraper,
): Promise<Window> {
  const start = Date.now();
  const from = start + WARMUP_MS;
  const to = from + seconds * 1000;
  let sent = 0;
  let inWindow = 0;
  let nextProbe = from;
  const inFlight = new Set<Promise<unknown>>();
  let lastReport = start;
  for (let slice = 0;; slice++) {
    const due = start + slice * 10;
    if (due >= to) break;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const target = Math.floor(((slice + 1) * 10 * rate) / 1000);
    const records = [];
    const ts = Date.now();
    for (; sent < target; sent++) {
      const symbol = SYMBOLS[sent % SYMBOLS.length]!;
      records.push({ key: symbol, value: await serde.encode(topic, tick(symbol, ts, sent)) });
    }
    if (probes && ts >= nextProbe && ts < to) {
      nextProbe = ts + 50;
      records.push({ key: PROBE, value: await serde.encode(topic, tick(PROBE, ts, sent)) });
      probes.sent(ts);
    }
    if (ts >= from) {
      inWindow += records.length;
      lag?.start();
    }
    const call = connector.publish(topic, records).finally(() => inFlight.delete(call));
    inFlight.add(call);
    if (inFlight.size >= 8) await Promise.race(inFlight);
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      say(`  ${Math.round((Date.now() - start) / 1000)} s, ${sent} ticks published`);
    }
  }
  await Promise.all(inFlight);
  const behind = Date.now() - to;
  if (behind > 1000) say(`  the publisher fell ${behind} ms behind its schedule`);
  return { from, to, published: inWindow };
}

function tick(symbol: string, ts: number, i: number) {
  return {
    symbol,
    source: "bench",
    exchange: null,
    ts,
    price: 100 + (i % 1000) / 100,
    bid: null,
    ask: null,
    volume: null,
  };
}

async function tableExists(sql: postgres.Sql, table: string): Promise<boolean> {
  const [r] = await sql`SELECT to_regclass(${`"${table}"`}) IS NOT NULL AS e`;
  return r!.e as boolean;
}

async function countIn(sql: postgres.Sql, table: string, w: Window): Promise<number> {
  const [r] = await sql.unsafe(
    `SELECT count(*)::int AS n FROM "${table}"
     WHERE ts >= to_timestamp($1::float8 / 1000) AND ts < to_timestamp($2::float8 / 1000)`,
    [w.from, w.to],
  );
  return r!.n as number;
}

async function latency(
  sql: postgres.Sql,
  table: string,
  w: Window,
  name: string,
  rate: number,
): Promise<LatencyFigure> {
  const [r] = await sql.unsafe(
    `SELECT count(*)::int AS n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            max(ms) AS max
     FROM (SELECT extract(epoch FROM visible_at - ts) * 1000 AS ms FROM "${table}"
           WHERE ts >= to_timestamp($1::float8 / 1000) AND ts < to_timestamp($2::float8 / 1000)) l`,
    [w.from, w.to],
  );
  const rows = r!.n as number;
  return {
    name,
    rate,
    rows,
    missing: Math.max(0, w.published - rows),
    p50: Number(r!.p50),
    p99: Number(r!.p99),
    max: Number(r!.max),
  };
}

/** The hand-written baseline: kafkajs eachBatch → decode → one INSERT … unnest → commit. */
async function rawLoop(
  brokers: string[],
  topic: string,
  table: string,
  serde: AvroSerde,
  databaseUrl: string,
) {
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const kafka = new Kafka({ clientId: `bench-e2e-raw`, brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench.raw.${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const rows = await Promise.all(batch.messages.map(async (m) => ({
        value: (await serde.decode(new Uint8Array(m.value as Buffer))).value as ReturnType<typeof tick>,
        offset: m.offset,
      })));
      if (rows.length === 0) return;
      await sql.unsafe(
        `INSERT INTO "${table}" (symbol, source, exchange, ts, price, bid, ask, volume, kafka_topic,
                                 kafka_partition, kafka_offset)
         SELECT u.symbol, u.source, u.exchange, 'epoch'::timestamptz + u.ts_ms * interval '1 millisecond',
                u.price, u.bid, u.ask, u.volume, $9, $10, u.kafka_offset
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[], $7::float8[],
                     $8::float8[], $11::int8[])
              AS u(symbol, source, exchange, ts_ms, price, bid, ask, volume, kafka_offset)
         ON CONFLICT DO NOTHING`,
        [
          rows.map((r) => r.value.symbol),
          rows.map((r) => r.value.source),
          rows.map((r) => r.value.exchange),
          rows.map((r) => String(r.value.ts)),
          rows.map((r) => r.value.price),
          rows.map((r) => r.value.bid),
          rows.map((r) => r.value.ask),
          rows.map((r) => r.value.volume),
          topic,
          batch.partition,
          rows.map((r) => r.offset),
        ] as never[],
        { prepare: true },
      );
      resolveOffset(batch.lastOffset());
      await heartbeat();
    },
  });
  return {
    async stop() {
      await consumer.disconnect().catch(() => {});
      await sql.end();
    },
  };
}

/** Scrapes the node's `qistream_consumer_lag_seconds` every second while the window runs; keeps the maximum. */
class LagScraper {
  #max = 0;
  #timer?: ReturnType<typeof setInterval>;
  constructor(private readonly url: string) {}
  start() {
    this.#timer ??= setInterval(async () => {
      const text = await fetch(`${this.url}/metrics`).then((r) => r.text()).catch(() => "");
      for (const line of text.split("\n")) {
        if (!line.startsWith("qistream_consumer_lag_seconds")) continue;
        const value = Number(line.slice(line.lastIndexOf(" ") + 1));
        if (Number.isFinite(value)) this.#max = Math.max(this.#max, value);
      }
    }, 1000);
  }
  /** Stops scraping; the maximum seen. */
  stop(): number {
    clearInterval(this.#timer);
    return this.#max;
  }
}

/** Polls ClickHouse every 10 ms for new probe rows and records first-seen minus ts. */
class ClickHouseProbes {
  readonly #sentAt: number[] = [];
  readonly #latencies: number[] = [];
  #last = 0;
  #polling = true;
  readonly #done: Promise<void>;
  constructor(private readonly url: string, private readonly table: string) {
    this.#done = this.#poll();
  }
  sent(ts: number) {
    this.#sentAt.push(ts);
  }
  async #poll() {
    while (this.#polling) {
      const text = await clickhouse(
        this.url,
        `SELECT DISTINCT ts FROM ${this.table} WHERE symbol = '${PROBE}' AND ts > ${this.#last} FORMAT TabSeparated`,
      ).catch(() => "");
      const seenAt = Date.now();
      for (const line of text.split("\n")) {
        const ts = Number(line);
        if (!line || !Number.isFinite(ts)) continue;
        this.#latencies.push(seenAt - ts);
        this.#last = Math.max(this.#last, ts);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  async stop(name: string, rate: number): Promise<LatencyFigure> {
    await until(() => Promise.resolve(this.#latencies.length >= this.#sentAt.length), DRAIN_MS, "").catch(
      () => {},
    );
    this.#polling = false;
    await this.#done;
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
    return {
      name,
      rate,
      rows: sorted.length,
      missing: Math.max(0, this.#sentAt.length - sorted.length),
      p50: at(0.5),
      p99: at(0.99),
      max: sorted.at(-1) ?? NaN,
    };
  }
}

async function clickhouse(url: string, query: string): Promise<string> {
  const response = await fetch(url, { method: "POST", body: query });
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse: ${text.slice(0, 200)}`);
  return text;
}

async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  node?: StartedProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}\n${node?.output().slice(-3000) ?? ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function formatLatency(figures: LatencyFigure[], seconds: number): string {
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : "—");
  const header = ["path", "rate", "rows", "missing", "p50", "p99", "max", "max lag", "p99 vs baseline"];
  const baselineP99 = new Map(
    figures.filter((f) => f.name.startsWith("baseline")).map((f) => [f.rate, f.p99]),
  );
  const lines = figures.map((f) => [
    f.name,
    `${f.rate}/s`,
    String(f.rows),
    String(f.missing),
    ms(f.p50),
    ms(f.p99),
    ms(f.max),
    f.maxLagSeconds === undefined ? "" : `${f.maxLagSeconds.toFixed(1)} s`,
    !f.name.startsWith("qistream") || !baselineP99.has(f.rate)
      ? ""
      : `${(f.p99 / baselineP99.get(f.rate)!).toFixed(2)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [
    `End-to-end latency, publish → row visible, ${seconds} s per run after a ${WARMUP_MS / 1000} s warm-up ` +
    `(one broker, ${PARTITIONS} partitions, loopback)`,
    format(header),
    format(widths.map((w) => "-".repeat(w))),
    ...lines.map(format),
  ].join("\n");
}
