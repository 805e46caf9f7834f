/**
 * The databases the sink agents write to, through their MCP tools: PostgreSQL (the configured server, or
 * embedded PostgreSQL in the data directory when no URL is set) and ClickHouse when configured. Each gets a
 * readiness check.
 *
 * @module
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import postgres from "postgres";
import type { Config } from "../core/config_schema.ts";
import { redactText } from "../core/log_redact.ts";
import type { ReadinessCheck } from "../core/readiness.ts";
import { EMBEDDED_CLIENT_OPTIONS, startEmbeddedPostgres } from "../tools/embedded_postgres.ts";

/** Open database clients and how to describe and check them. */
export interface Databases {
  postgres?: postgres.Sql;
  clickhouse?: ClickHouseClient;
  postgresWhere?: string;
  clickhouseWhere?: string;
  readiness: Record<string, ReadinessCheck>;
  close(): Promise<void>;
}

/**
 * Opens the databases that the configured agents need: PostgreSQL when a `postgres-sink` runs or
 * `connections.postgres` is set; ClickHouse when `connections.clickhouse` is set.
 */
export async function openDatabases(config: Config, kinds: string[]): Promise<Databases> {
  const closers: (() => Promise<unknown>)[] = [];
  const databases: Databases = {
    readiness: {},
    close: async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    },
  };
  try {
    const pg = config.connections.postgres;
    if (pg || kinds.includes("postgres-sink")) {
      let url: string;
      let max = pg?.maxConnections ?? 10;
      if (!pg?.url) {
        const embedded = await startEmbeddedPostgres({ dataDir: config.node.dataDir });
        closers.push(() => embedded.stop());
        url = embedded.url;
        max = EMBEDDED_CLIENT_OPTIONS.max;
        databases.postgresWhere = `embedded PostgreSQL in ${embedded.path} at ${url}`;
      } else {
        url = pg.url;
        databases.postgresWhere = redactText(url);
      }
      const sql = postgres(url, { max, password: pg?.password, onnotice: () => {} });
      closers.push(() => sql.end({ timeout: 5 }));
      databases.postgres = sql;
      databases.readiness.postgres = async () => {
        await sql`SELECT 1`;
      };
    }
    const ch = config.connections.clickhouse;
    if (ch) {
      const client = createClient({
        url: ch.url,
        username: ch.username,
        password: ch.password,
        database: ch.database,
      });
      closers.push(() => client.close());
      databases.clickhouse = client;
      databases.clickhouseWhere = redactText(ch.url);
      databases.readiness.clickhouse = async () => {
        const result = await client.ping();
        if (!result.success) throw result.error;
      };
    }
    return databases;
  } catch (error) {
    await databases.close();
    throw error;
  }
}
