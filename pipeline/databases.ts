/**
 * The databases the sink agents write to, through their MCP tools: PostgreSQL (the configured server, or
 * embedded PostgreSQL in the data directory when no URL is set) and ClickHouse when configured. Each gets a
 * readiness check. The query tools get their own way in (see query_access.ts): never the writer's client.
 *
 * @module
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import postgres from "postgres";
import type { Config } from "../core/config_schema.ts";
import { redactText } from "../core/log_redact.ts";
import type { ReadinessCheck } from "../core/readiness.ts";
import { EMBEDDED_CLIENT_OPTIONS, startEmbeddedPostgres } from "../tools/embedded_postgres.ts";
import {
  type ClickHouseQueryAccessResult,
  openClickHouseQueryOrLater,
  openPostgresQueryOrLater,
  type PostgresQueryAccess,
} from "./query_access.ts";

/** Open database clients and how to describe and check them. */
export interface Databases {
  /** The writer's client (the sinks' `ensure_table` / `insert_rows`). */
  postgres?: postgres.Sql;
  /** How the PostgreSQL query tools reach the database. */
  postgresQuery?: PostgresQueryAccess;
  /** The writer's client. */
  clickhouse?: ClickHouseClient;
  /** How the ClickHouse query tools reach the database. */
  clickhouseQuery?: ClickHouseQueryAccessResult;
  postgresWhere?: string;
  clickhouseWhere?: string;
  readiness: Record<string, ReadinessCheck>;
  close(): Promise<void>;
}

/**
 * Opens the databases that the configured agents need: PostgreSQL when `connections.postgres` is set or an
 * agent that starts may call a `postgres.*` tool (embedded PostgreSQL without a URL); ClickHouse when
 * `connections.clickhouse` is set.
 *
 * @param config The configuration.
 * @param agentTools The tools the agents that start may call (their allow-lists, patterns included).
 */
export async function openDatabases(config: Config, agentTools: readonly string[]): Promise<Databases> {
  const closers: (() => Promise<unknown>)[] = [];
  const databases: Databases = {
    readiness: {},
    close: async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    },
  };
  try {
    const pg = config.connections.postgres;
    const callsPostgres = agentTools.some((t) => t === "*" || t.startsWith("postgres."));
    if (pg || callsPostgres) {
      let url: string;
      let max = pg?.maxConnections ?? 10;
      const embedded = !pg?.url;
      if (!pg?.url) {
        const server = await startEmbeddedPostgres({ dataDir: config.node.dataDir });
        closers.push(() => server.stop());
        url = server.url;
        max = EMBEDDED_CLIENT_OPTIONS.max;
        databases.postgresWhere = `embedded PostgreSQL in ${server.path} at ${url}`;
      } else {
        url = pg.url;
        databases.postgresWhere = redactText(url);
      }
      // The writer's timeouts (startup parameters, so they hold for every statement of every connection): a lock
      // held elsewhere or a stuck statement becomes a retriable error, never a frozen sink. The embedded database
      // shares its one session with the query tools, whose `DISCARD ALL` would drop prepared statements.
      const timeouts = {
        statement_timeout: pg?.statementTimeoutMs ?? 60_000,
        lock_timeout: pg?.lockTimeoutMs ?? 10_000,
      };
      const sql = postgres(url, {
        max,
        password: pg?.password,
        onnotice: () => {},
        ...(embedded
          ? { prepare: false }
          : { connection: { application_name: "qistream-writer", ...timeouts } }),
      });
      closers.push(() => sql.end({ timeout: 5 }));
      databases.postgres = sql;
      databases.readiness.postgres = async () => {
        await sql`SELECT 1`;
      };
      const access = await openPostgresQueryOrLater(config, sql, embedded);
      closers.push(() => access.close());
      databases.postgresQuery = access;
    }
    const ch = config.connections.clickhouse;
    if (ch) {
      const client = createClient({
        url: ch.url,
        username: ch.username,
        password: ch.password,
        database: ch.database,
        // The client's own logger writes plain text to stderr; its errors reach the node's JSON logs through the
        // tools' errors and the readiness check.
        log: { level: ClickHouseLogLevel.OFF },
      });
      closers.push(() => client.close());
      databases.clickhouse = client;
      databases.clickhouseWhere = redactText(ch.url);
      databases.readiness.clickhouse = async () => {
        const result = await client.ping();
        if (!result.success) throw result.error;
      };
      const access = await openClickHouseQueryOrLater(config, client);
      closers.push(() => access.close());
      databases.clickhouseQuery = access;
    }
    return databases;
  } catch (error) {
    await databases.close();
    throw error;
  }
}
