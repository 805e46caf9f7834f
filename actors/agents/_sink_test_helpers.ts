// Shared by the sink tests and `bench sinks`: a tick sink pipeline assembled like the main program does it
// (connector -> Avro decode on the main thread -> dispatcher -> supervised Worker sinks -> per-actor MCP tool
// port -> database), and the databases the tests write to.
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import postgres from "postgres";
import { AvroSerde } from "../../connector/avro/mod.ts";
import { EmbeddedSchemaRegistry } from "../../connector/registry/mod.ts";
import type { StreamConnector } from "../../connector/types.ts";
import { Dispatcher, type DispatcherOptions } from "../../supervisor/dispatcher.ts";
import { Supervisor } from "../../supervisor/supervisor.ts";
import { type ActorToolsConnection, serveActorTools } from "../../tools/actor_tool_port.ts";
import { clickHouseTools } from "../../tools/clickhouse_tools.ts";
import { postgresTools } from "../../tools/postgres_tools.ts";
import type { AnyToolDefinition } from "../../tools/tool_definition.ts";
import type { Tick } from "../sources/market_record.ts";
import { SINK_ROWS, type SinkDatabase } from "./_table_sink.ts";
import { registry } from "../../core/metrics.ts";

/** The sink module of a database. */
export const sinkModule = (database: SinkDatabase): URL => new URL(`./${database}_sink.ts`, import.meta.url);

/** A database the tests write to, with the tool set over it. */
export interface TestDatabase {
  database: SinkDatabase;
  tools: AnyToolDefinition[];
  /**
   * Rows stored in `table`, as they are, before any deduplication at read time: a row inserted twice counts
   * twice in ClickHouse (unless a background merge already collapsed it); PostgreSQL's key never holds it twice.
   */
  rawRows(table: string): Promise<number>;
  /** Rows in `table` after deduplication (ClickHouse: `FINAL`; PostgreSQL: the same as {@linkcode rawRows}). */
  rowsAfterDedup(table: string): Promise<number>;
  /**
   * Every row of `table` after deduplication, as one comparable line each, ordered by provenance:
   * `topic/partition@offset symbol source exchange ts price bid ask volume`.
   */
  rowLines(table: string): Promise<string[]>;
  /**
   * Creates the tick table through the database's own `ensure_table` tool and, in ClickHouse, stops its
   * background merges, so that {@linkcode rawRows} counts every copy ever inserted.
   */
  createHoldingMerges(table: string): Promise<void>;
  drop(table: string): Promise<void>;
  close(): Promise<void>;
  /** The raw client, for baselines. */
  client: postgres.Sql | ClickHouseClient;
}

/** PostgreSQL at `url` (`max` connections in the pool). */
export function postgresDatabase(url: string, max = 4): TestDatabase {
  const sql = postgres(url, { max, onnotice: () => {} });
  const tools = postgresTools({ sql });
  const count = async (table: string) => {
    const [r] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
    return r!.n as number;
  };
  return {
    database: "postgres",
    tools,
    client: sql,
    rawRows: count,
    createHoldingMerges: (table) => ensure(tools, table),
    rowsAfterDedup: count,
    async rowLines(table) {
      const rows = await sql.unsafe(
        `SELECT kafka_topic, kafka_partition, kafka_offset, symbol, source, exchange,
                (extract(epoch FROM ts) * 1000)::bigint::text AS ts, price, bid, ask, volume
         FROM "${table}" ORDER BY kafka_topic, kafka_partition, kafka_offset`,
      );
      return rows.map(rowLine);
    },
    async drop(table) {
      await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
    },
    close: () => sql.end(),
  };
}

/** ClickHouse at `url`. */
export function clickhouseDatabase(url: string): TestDatabase {
  const ch = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
  const tools = clickHouseTools({ client: ch });
  const scalar = async (query: string) => {
    const rs = await ch.query({ query, format: "JSONEachRow" });
    const [r] = await rs.json<{ n: string | number }>();
    return Number(r!.n);
  };
  return {
    database: "clickhouse",
    tools,
    client: ch,
    async createHoldingMerges(table) {
      await ensure(tools, table);
      await ch.command({ query: `SYSTEM STOP MERGES \`${table}\`` });
    },
    rawRows: (table) => scalar(`SELECT count() AS n FROM \`${table}\``),
    rowsAfterDedup: (table) => scalar(`SELECT count() AS n FROM \`${table}\` FINAL`),
    async rowLines(table) {
      const rs = await ch.query({
        query:
          `SELECT kafka_topic, kafka_partition, kafka_offset, symbol, source, exchange, ts, price, bid, ask,
                       volume
                FROM \`${table}\` FINAL ORDER BY kafka_topic, kafka_partition, kafka_offset`,
        format: "JSONEachRow",
      });
      return (await rs.json<Record<string, unknown>>()).map(rowLine);
    },
    async drop(table) {
      await ch.command({ query: `DROP TABLE IF EXISTS \`${table}\`` });
    },
    close: () => ch.close(),
  };
}

/** Calls the `<db>.ensure_table` tool of `tools` for a tick table. */
async function ensure(tools: AnyToolDefinition[], table: string): Promise<void> {
  const tool = tools.find((t) => t.name.endsWith(".ensure_table"))!;
  await tool.handler(tool.inputSchema.parse({ kind: "tick", table }), {
    caller: "test",
    signal: new AbortController().signal,
  });
}

/** One stored tick row as a line that compares equal across the databases (numbers as JS numbers). */
function rowLine(r: Record<string, unknown>): string {
  const num = (v: unknown) => (v === null || v === undefined ? "null" : String(Number(v)));
  return `${r.kafka_topic}/${r.kafka_partition}@${r.kafka_offset} ${r.symbol} ${r.source} ${r.exchange} ${r.ts} ` +
    `${num(r.price)} ${num(r.bid)} ${num(r.ask)} ${num(r.volume)}`;
}

/**
 * The sink's own count of rows, from the process registry (the Workers report into it): `sink_rows_total` of
 * `table` with `outcome` — `written` (PostgreSQL: rows new to the table; ClickHouse: rows sent), `duplicate`
 * (PostgreSQL: rows whose key was already there) or `refused`.
 */
export async function sinkRows(table: string, outcome: "written" | "duplicate" | "refused"): Promise<number> {
  const metric = registry.getSingleMetric(SINK_ROWS);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => v.labels.table === table && v.labels.outcome === outcome)
    .reduce((n, v) => n + v.value, 0);
}

const TICK_SCHEMA = new URL("../../schemas/market.tick/v1.avsc", import.meta.url);

/** An Avro serde over a throwaway embedded registry with `market.tick` v1 registered for `topic`. */
export async function tickSerde(dir: string, topic: string): Promise<AvroSerde> {
  const registry = new EmbeddedSchemaRegistry({ path: `${dir}/schema-registry.json` });
  await registry.register(`${topic}-value`, await Deno.readTextFile(TICK_SCHEMA));
  return new AvroSerde({ registry });
}

/** A `market.tick` v1 value (the sources' record type); one of {@link ticks} is about 200 bytes as JSON, 60 as Avro. */
export type { Tick };

/** `n` ticks with unique natural keys (20 symbols, one ms apart per symbol), starting at `from`. */
export function ticks(n: number, from = 0): Tick[] {
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    const price = 100 + (i % 997) / 7;
    return {
      symbol: `SYM-${String(i % 20).padStart(2, "0")}`,
      source: "synthetic",
      exchange: "synthetic-exchange-for-qistream-benchmark",
      ts: 1_700_000_000_000 + Math.floor(i / 20),
      price,
      bid: price - 0.01,
      ask: price + 0.01,
      volume: 1000 + i,
    };
  });
}

/** Publishes ticks Avro-encoded, keyed by symbol, `chunk` per call; returns how many. */
export async function publishTicks(
  connector: StreamConnector,
  serde: AvroSerde,
  topic: string,
  rows: Tick[],
  chunk = 500,
): Promise<number> {
  for (let i = 0; i < rows.length; i += chunk) {
    const records = await Promise.all(
      rows.slice(i, i + chunk).map(async (t, j) => ({
        key: new TextEncoder().encode(t.symbol),
        value: await serde.encode(topic, t),
        headers: { "correlation-id": `tick-${i + j}` },
      })),
    );
    await connector.publish(topic, records);
  }
  return rows.length;
}

/** A running sink pipeline. */
export interface SinkPipeline {
  dispatcher: Dispatcher;
  root: Supervisor;
  /** Tool connections served so far (one per actor incarnation). */
  connections: ActorToolsConnection[];
  stop(): Promise<void>;
}

/** Starts `instances` sink actors of `database` behind a dispatcher, each with its own tool port. */
export async function startSinkPipeline(options: {
  connector: StreamConnector;
  database: SinkDatabase;
  tools: AnyToolDefinition[];
  serde: AvroSerde;
  topic: string;
  deadLetterTopic: string;
  group: string;
  config: Record<string, unknown>;
  instances?: number;
  creditWindow?: number;
  maxBatchRecords?: number;
  dispatcher?: Partial<DispatcherOptions>;
  /** Join the consumer group at once (default true); with false, call `dispatcher.start()` yourself. */
  start?: boolean;
}): Promise<SinkPipeline> {
  const { database, tools, serde, instances = 2, creditWindow = 4 } = options;
  const ids = Array.from({ length: instances }, (_, i) => `${options.group}-${i}`);
  const dispatcher = new Dispatcher({
    connector: options.connector,
    agent: options.group,
    topics: [options.topic],
    instances: ids,
    deadLetterTopic: options.deadLetterTopic,
    fromBeginning: true,
    maxBatchRecords: options.maxBatchRecords ?? 500,
    retryBackoff: { minMs: 5, maxMs: 50 },
    decode: async (record) => (await serde.decode(record.value)).value,
    ...options.dispatcher,
  });
  const module = sinkModule(database);
  const { spec } = await import(module.href);
  const connections: ActorToolsConnection[] = [];
  const toolPort = (id: string) => () => {
    const channel = new MessageChannel();
    // serveActorTools starts listening after the server connects; the Worker's first calls wait in the port.
    void serveActorTools(channel.port1, { actorId: id, allow: spec.tools, tools }).then((c) =>
      connections.push(c)
    );
    return channel.port2;
  };
  const children = ids.map((id) =>
    dispatcher.children({ module, config: options.config, creditWindow, toolPort: toolPort(id) })
      .find((child) => child.id === id)!
  );
  const root = await Supervisor.start({
    id: options.group,
    intensity: 50,
    periodMs: 5000,
    backoff: { minMs: 1, maxMs: 20 },
    children,
  });
  if (options.start ?? true) await dispatcher.start();
  return {
    dispatcher,
    root,
    connections,
    async stop() {
      await dispatcher.close(2000);
      await root.stop();
      await Promise.all(connections.map((c) => c.close()));
    },
  };
}
