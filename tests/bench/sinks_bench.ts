/**
 * `deno task bench sinks`: rows per second from a topic into each database through the whole sink path —
 * embedded log → Avro decode on the main thread → dispatcher → sink actor (Worker) → MCP tool call over the
 * actor's port → `*.insert_rows` → database — beside a plain bulk insert of the same rows with the same client
 * in the same run (PostgreSQL: `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING`; ClickHouse:
 * `@clickhouse/client` `insert` with `JSONEachRow`), in batches of the same size with the same concurrency.
 * A database whose URL is missing is skipped; with `embedded`, PostgreSQL in PGlite is measured as well.
 *
 * @module
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import postgres from "postgres";
import { EmbeddedConnector } from "../../connector/embedded/mod.ts";
import { allCommitted, createTopics } from "../../supervisor/_dispatcher_test_helpers.ts";
import { clickHouseTools } from "../../tools/clickhouse_tools.ts";
import { EMBEDDED_CLIENT_OPTIONS, startEmbeddedPostgres } from "../../tools/embedded_postgres.ts";
import { postgresTools } from "../../tools/postgres_tools.ts";
import type { AnyToolDefinition } from "../../tools/tool_definition.ts";
import type { SinkDatabase } from "../../actors/agents/_table_sink.ts";
import {
  publishTicks,
  startSinkPipeline,
  type Tick,
  ticks,
  tickSerde,
} from "../../actors/agents/_sink_test_helpers.ts";
import { type BenchResult, type BenchRow, formatBenchTable, perSecond } from "./bench_report.ts";

/** Options of the sinks benchmark. */
export interface SinksBenchOptions {
  /** Ticks per measurement. */
  records: number;
  /** Rows per batch (the dispatcher's `maxBatchRecords`, and the baseline's insert size). */
  batch: number;
  /** Sink actor instances (and concurrent baseline writers). */
  instances: number;
  /** Unacked batches per actor. */
  creditWindow: number;
  /** PostgreSQL URL; omitted: no PostgreSQL server row. */
  databaseUrl?: string;
  /** ClickHouse URL; omitted: no ClickHouse row. */
  clickhouseUrl?: string;
  /** Also measure embedded PostgreSQL (PGlite over pglite-socket, one connection). */
  embedded?: boolean;
  progress(message: string): void;
}

const PARTITIONS = 4;
const TOPIC = "bench.ticks";

interface Target {
  label: string;
  database: SinkDatabase;
  tools: AnyToolDefinition[];
  /** Plain bulk insert of `rows` into `table` (created by the tools' DDL beforehand). */
  bulk(table: string, rows: TickWithProvenance[]): Promise<void>;
  count(table: string): Promise<number>;
  drop(table: string): Promise<void>;
  /** Concurrent writers of the baseline (one for embedded PostgreSQL: one connection). */
  writers: number;
  close(): Promise<void>;
}

/** Runs the benchmark and returns the report. */
export async function sinksBench(o: SinksBenchOptions): Promise<BenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "qistream-bench-sinks-" });
  const connector = new EmbeddedConnector({ dataDir: `${dir}/log`, fsync: false, maxBatchRecords: o.batch });
  await connector.connect();
  const targets: Target[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    if (o.databaseUrl) targets.push(postgresTarget("PostgreSQL", o.databaseUrl, 4, o.instances));
    if (o.embedded) {
      o.progress("starting embedded PostgreSQL (PGlite)");
      const pg = await startEmbeddedPostgres({ dataDir: `${dir}/pg` });
      stops.push(() => pg.stop());
      targets.push(postgresTarget("embedded PostgreSQL (PGlite)", pg.url, EMBEDDED_CLIENT_OPTIONS.max, 1));
    }
    if (o.clickhouseUrl) targets.push(clickhouseTarget(o.clickhouseUrl, o.instances));
    if (targets.length === 0) throw new TypeError("Cannot run bench sinks: no database URL given");

    o.progress(`publishing ${o.records} ticks (Avro) to the embedded log`);
    await createTopics(connector, { [TOPIC]: PARTITIONS, "bench.dlq": 1 });
    const serde = await tickSerde(dir, TOPIC);
    const rows = ticks(o.records);
    await publishTicks(connector, serde, TOPIC, rows, 2000);
    const rowBytes = rows.reduce((n, r) => n + JSON.stringify(r).length, 0) / rows.length;

    const report: BenchRow[] = [];
    for (const [i, t] of targets.entries()) {
      const table = `bench_sink_${i}_${Date.now().toString(36)}`;
      const baseTable = `${table}_bulk`;
      try {
        o.progress(`${t.label}: topic → dispatcher → ${o.instances} sink actors → MCP tool → database`);
        const group = `bench-${t.database}-${i}`;
        const p = await startSinkPipeline({
          connector,
          database: t.database,
          tools: t.tools,
          serde,
          topic: TOPIC,
          deadLetterTopic: "bench.dlq",
          group,
          config: { table },
          instances: o.instances,
          creditWindow: o.creditWindow,
          maxBatchRecords: o.batch,
          start: false, // the Workers are up; time from joining the group to the last commit
        });
        let pipelineMs: number;
        try {
          const started = performance.now();
          await p.dispatcher.start();
          await allCommitted(connector, TOPIC, group, 600_000);
          pipelineMs = performance.now() - started;
        } finally {
          await p.stop();
        }
        const written = await t.count(table);
        if (written !== o.records) {
          throw new Error(`${t.label}: expected ${o.records} rows, found ${written}`);
        }

        o.progress(`${t.label}: plain bulk insert of the same rows (${t.writers} writers)`);
        // Create the baseline's table with the same DDL, through the tool's own ensure_table.
        const ensure = t.tools.find((d) => d.name === `${t.database}.ensure_table`)!;
        await ensure.handler({ kind: "tick", table: baseTable }, { caller: "bench" } as never);
        const started = performance.now();
        const baseRows = rows.map((r, i) => ({
          ...r,
          kafka_topic: TOPIC,
          kafka_partition: 0,
          kafka_offset: `${i}`,
        }));
        await inParallel(baseRows, o.batch, t.writers, (chunk) => t.bulk(baseTable, chunk));
        const bulkMs = performance.now() - started;
        const bulkWritten = await t.count(baseTable);
        if (bulkWritten !== o.records) throw new Error(`${t.label}: baseline wrote ${bulkWritten} rows`);

        const baseline = {
          name: `plain bulk insert, same client, ${o.batch}-row batches`,
          rate: perSecond(o.records, bulkMs),
        };
        report.push(
          {
            name: `topic → ${t.database}-sink → ${t.label}`,
            rate: perSecond(o.records, pipelineMs),
            unit: "rows/s",
            baseline,
          },
          {
            name: `bulk insert → ${t.label} (baseline)`,
            rate: baseline.rate,
            unit: "rows/s",
            note: t.database === "postgres" ? "unnest, ON CONFLICT DO NOTHING" : "JSONEachRow",
          },
        );
      } finally {
        await t.drop(table).catch(() => {});
        await t.drop(baseTable).catch(() => {});
      }
    }
    const table = formatBenchTable(
      `sinks: ${o.records} ticks (~${Math.round(rowBytes)} B as JSON), ${o.batch} rows per batch, ` +
        `${o.instances} sink actors, credit window ${o.creditWindow}, ${PARTITIONS} partitions, embedded log`,
      report,
    );
    return { report: table, rows: report };
  } finally {
    for (const t of targets) await t.close().catch(() => {});
    for (const stop of stops) await stop().catch(() => {});
    await connector.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn` over `size`-row chunks of `rows`, `writers` at a time. */
async function inParallel<T>(rows: T[], size: number, writers: number, fn: (chunk: T[]) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: writers }, async () => {
    while (next < rows.length) {
      const from = next;
      next += size;
      await fn(rows.slice(from, from + size));
    }
  }));
}

/** A tick with the provenance columns the tick tables are keyed on. */
type TickWithProvenance = Tick & { kafka_topic: string; kafka_partition: number; kafka_offset: string };

function postgresTarget(label: string, url: string, max: number, writers: number): Target {
  const sql = postgres(url, { max, onnotice: () => {} });
  return {
    label,
    database: "postgres",
    tools: postgresTools({ sql }),
    writers,
    async bulk(table, rows) {
      const col = <V>(f: (r: TickWithProvenance) => V) => rows.map(f);
      await sql.unsafe(
        `INSERT INTO "${table}" (symbol, source, exchange, ts, price, bid, ask, volume, kafka_topic,
                                 kafka_partition, kafka_offset)
         SELECT u.symbol, u.source, u.exchange, 'epoch'::timestamptz + u.ts_ms * interval '1 millisecond',
                u.price, u.bid, u.ask, u.volume, u.kafka_topic, u.kafka_partition, u.kafka_offset
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[], $7::float8[],
                     $8::float8[], $9::text[], $10::int4[], $11::int8[])
              AS u(symbol, source, exchange, ts_ms, price, bid, ask, volume, kafka_topic, kafka_partition,
                   kafka_offset)
         ON CONFLICT DO NOTHING`,
        [
          col((r) => r.symbol),
          col((r) => r.source),
          col((r) => r.exchange),
          col((r) => String(r.ts)),
          col((r) => r.price),
          col((r) => r.bid),
          col((r) => r.ask),
          col((r) => r.volume),
          col((r) => r.kafka_topic),
          col((r) => r.kafka_partition),
          col((r) => r.kafka_offset),
        ] as never[],
        { prepare: true },
      );
    },
    async count(table) {
      const [r] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
      return r!.n as number;
    },
    async drop(table) {
      await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
    },
    close: () => sql.end(),
  };
}

function clickhouseTarget(url: string, writers: number): Target {
  const client: ClickHouseClient = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
  return {
    label: "ClickHouse",
    database: "clickhouse",
    tools: clickHouseTools({ client }),
    writers,
    async bulk(table, rows) {
      await client.insert({ table: `\`${table}\``, values: rows, format: "JSONEachRow" });
    },
    async count(table) {
      const rs = await client.query({
        query: `SELECT count() AS n FROM \`${table}\` FINAL`,
        format: "JSONEachRow",
      });
      const [r] = await rs.json<{ n: string }>();
      return Number(r!.n);
    },
    async drop(table) {
      await client.command({ query: `DROP TABLE IF EXISTS \`${table}\`` });
    },
    close: () => client.close(),
  };
}
