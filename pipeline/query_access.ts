/**
 * How the query tools (`postgres.query`, `postgres.describe`, `clickhouse.query`, `clickhouse.describe`) reach the
 * databases: never over the writer's connection, and only as a role or user that cannot do more than read.
 *
 * PostgreSQL, in this order:
 * 1. `connections.postgres.readUrl` set: its own pool logged in as that role, after {@linkcode queryRoleRisks}
 *    found nothing (a superuser, CREATEROLE, membership in `pg_read_server_files`, ... or the writer's role).
 * 2. embedded PostgreSQL (no URL): a NOLOGIN role the query transactions switch to (see
 *    `prepareEmbeddedSandbox`).
 * 3. otherwise the node creates or updates `connections.postgres.readerRole` (`qistream_reader`) with the
 *    writer's CREATEROLE or superuser right, with a password derived from the writer's credentials (every node
 *    of a deployment derives the same one; nothing to store), and logs in as it on a pool of its own.
 *
 * When none is possible, or the role found is risky, the query tools are off and say why — unless
 * `connections.postgres.unsafeQueryAsWriter` is true: then they run on a pool of their own as that role, and the
 * node logs an error-level warning at every start.
 *
 * ClickHouse (18.16 has no SQL user management, so the node cannot create a user): `connections.clickhouse.readUrl`
 * (or `readUsername`) names a separate user. Its effective `readonly` must be 1 (its profile; then no other
 * setting may be sent, and the limits come from the profile) or 0 (then every query carries `readonly=1` and the
 * limits). Without one, the tools are off unless `unsafeQueryAsWriter`: in `readonly=1` mode the writer's own user
 * may still `KILL QUERY` the sink's inserts (verified on 18.16), and `readonly=2` allows table functions.
 *
 * @module
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import postgres from "postgres";
import type { Config } from "../core/config_schema.ts";
import { getLogger } from "../core/log.ts";
import { redactText } from "../core/log_redact.ts";
import {
  CallerLimit,
  clickHouseError,
  type ClickHouseQueryAccess,
  ensureReaderRole,
  isRetriableClickHouseError,
  isRetriablePostgresError,
  postgresError,
  PostgresQueryPool,
  prepareEmbeddedSandbox,
  type QueryLimits,
  queryRoleRisks,
  QueryUnavailableError,
} from "../tools/mod.ts";
import { isRetriable } from "../core/retriable.ts";

const log = getLogger("pipeline");

/** What the PostgreSQL query tools get. */
export interface PostgresQueryAccess {
  /** The query tools' pool (or how to open it once the database answers); absent when they are off. */
  pool?: PostgresQueryPool | (() => Promise<PostgresQueryPool>);
  /** Why they are off. */
  unavailable?: string;
  /** The role `ensure_table` grants SELECT to. */
  readerRole?: string;
  /** For the start banner, e.g. `role qistream_reader (created by the node)`. */
  where: string;
  /** Closes the pool. */
  close(): Promise<void>;
}

/** The query tools' limits from `mcp.query`. */
export function queryLimits(config: Config): Partial<QueryLimits> {
  const q = config.mcp.query;
  return {
    statementTimeoutMs: q.timeoutMs,
    lockTimeoutMs: q.lockTimeoutMs,
    idleInTransactionMs: Math.max(q.timeoutMs * 2, 10_000),
    acquireTimeoutMs: q.timeoutMs,
    perCaller: q.perCaller,
  };
}

/**
 * The reader role's password, derived from the writer's credentials: HMAC-SHA-256 keyed by the writer's URL and
 * password, so every node with the same `DATABASE_URL` logs in with the same password and none stores it.
 */
export async function derivedReaderPassword(url: string, password: string | undefined, role: string) {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(`${url}\n${password ?? ""}`),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`qistream reader role ${role}`));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

function readerClient(url: string, max: number, options: { username?: string; password?: string } = {}) {
  return postgres(url, {
    max,
    prepare: false,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { application_name: "qistream-query" },
    ...options,
  });
}

/**
 * Opens the PostgreSQL query tools' access (see the module doc).
 *
 * @param config The configuration.
 * @param writer The writer's client.
 * @param embedded Whether the writer is the embedded PostgreSQL (one shared session).
 * @returns The pool, or why there is none.
 */
export async function openPostgresQuery(
  config: Config,
  writer: postgres.Sql,
  embedded: boolean,
): Promise<PostgresQueryAccess> {
  const access = await openPostgresQueryOnce(config, writer, embedded);
  const pool = access.pool as PostgresQueryPool | undefined;
  return { ...access, close: () => pool?.close() ?? Promise.resolve() };
}

/**
 * {@linkcode openPostgresQuery}, or — when the database does not answer at start (the node starts anyway and
 * `/readyz` says so) — access that opens on the first call that needs it, and retries on the next while the
 * database is still away.
 */
export async function openPostgresQueryOrLater(
  config: Config,
  writer: postgres.Sql,
  embedded: boolean,
): Promise<PostgresQueryAccess> {
  try {
    return await openPostgresQuery(config, writer, embedded);
  } catch (error) {
    if (!isRetriablePostgresError(error) && !isRetriable(error)) {
      throw error;
    }
    log.warn("postgres.query: the database does not answer yet ({error}); its role is set up on first use", {
      error,
    });
    const pg = config.connections.postgres;
    let opened: Promise<PostgresQueryAccess> | undefined;
    const open = () => {
      opened ??= openPostgresQuery(config, writer, embedded).catch((e) => {
        opened = undefined;
        throw postgresError("opening the query tools' pool", e);
      });
      return opened;
    };
    return {
      pool: async () => {
        const access = await open();
        if (!access.pool) {
          throw new QueryUnavailableError(
            `postgres.query and postgres.describe are off: ${access.unavailable}`,
          );
        }
        return access.pool as PostgresQueryPool;
      },
      readerRole: pg?.readUrl
        ? decodeURIComponent(new URL(pg.readUrl).username) || undefined
        : pg?.readerRole ?? "qistream_reader",
      where: "set up on first use (the database did not answer at start)",
      close: async () => {
        const access = await opened?.catch(() => undefined);
        await access?.close();
      },
    };
  }
}

type OpenedAccess = Omit<PostgresQueryAccess, "close">;

async function openPostgresQueryOnce(
  config: Config,
  writer: postgres.Sql,
  embedded: boolean,
): Promise<OpenedAccess> {
  const pg = config.connections.postgres;
  const limits = queryLimits(config);
  const max = config.mcp.query.maxConnections;
  const unsafe = pg?.unsafeQueryAsWriter ?? false;
  const role = pg?.readerRole ?? "qistream_reader";
  const [{ name: writerRole }] = await writer`SELECT current_user AS name` as unknown as [{ name: string }];
  const off = (why: string): OpenedAccess => {
    log.error(
      "postgres.query and postgres.describe are OFF: {why}. Set connections.postgres.readUrl (DATABASE_READ_URL) " +
        "to a read-only role, or see docs/tools.md",
      { why },
    );
    return { unavailable: why, where: `off (${why})` };
  };
  const unsafeOver = (sql: postgres.Sql, describe: string, why: string, readerRole?: string) => {
    log.error(
      "UNSAFE: connections.postgres.unsafeQueryAsWriter is set, so postgres.query runs as {describe} although " +
        "{why}: any token allowed postgres.query can do what that role can (read server files, run programs, " +
        "end sessions)",
      { describe, why },
    );
    return {
      pool: new PostgresQueryPool({ sql, describe: `${describe} (UNSAFE: ${why})`, limits }),
      readerRole,
      where: `${describe} (UNSAFE: ${why})`,
    };
  };

  if (pg?.readUrl) {
    const sql = readerClient(pg.readUrl, max, pg.readPassword ? { password: pg.readPassword } : {});
    try {
      const [{ name }] = await sql`SELECT current_user AS name` as unknown as [{ name: string }];
      const risks = await queryRoleRisks(sql, writerRole);
      const describe = `role ${name} (connections.postgres.readUrl ${redactText(pg.readUrl)})`;
      if (risks.length === 0) {
        return { pool: new PostgresQueryPool({ sql, describe, limits }), readerRole: name, where: describe };
      }
      const why = `the read role "${name}" is not read-only: ${risks.join("; ")}`;
      if (unsafe) return unsafeOver(sql, describe, why);
      await sql.end({ timeout: 5 });
      return off(why);
    } catch (error) {
      await sql.end({ timeout: 5 }).catch(() => {});
      throw postgresError("connecting as connections.postgres.readUrl", error);
    }
  }

  if (embedded) {
    await prepareEmbeddedSandbox(writer, role);
    const describe = `role ${role} (SET ROLE in embedded PostgreSQL; no statement timeout)`;
    return {
      pool: new PostgresQueryPool({ sql: writer, describe, role, limits, ownsClient: false }),
      readerRole: role,
      where: describe,
    };
  }

  const url = pg!.url;
  let password: string;
  try {
    password = await derivedReaderPassword(url, pg!.password, role);
    await ensureReaderRole(writer, role, password);
  } catch (error) {
    // The database went away meanwhile: let the caller retry later rather than turn the tools off for good.
    const cause = (error as Error).cause ?? error;
    if (isRetriablePostgresError(cause)) throw cause;
    const why = (error as Error).message;
    if (!unsafe) return off(why);
    const sql = readerClient(url, max, pg!.password ? { password: pg!.password } : {});
    return unsafeOver(sql, `the writer's role ${writerRole}`, why);
  }
  const sql = readerClient(url, max, { username: role, password });
  try {
    const risks = await queryRoleRisks(sql, writerRole);
    if (risks.length > 0) {
      await sql.end({ timeout: 5 });
      return off(`the node's role "${role}" is not read-only: ${risks.join("; ")}`);
    }
  } catch (error) {
    await sql.end({ timeout: 5 }).catch(() => {});
    return off(`cannot log in as the node's role "${role}": ${(error as Error).message} (check pg_hba.conf)`);
  }
  const describe = `role ${role} (created by the node)`;
  return { pool: new PostgresQueryPool({ sql, describe, limits }), readerRole: role, where: describe };
}

/** What the ClickHouse query tools get. */
export interface ClickHouseQueryAccessResult {
  /** The access (or how to open it once ClickHouse answers); absent when the tools are off. */
  access?: ClickHouseQueryAccess | (() => Promise<ClickHouseQueryAccess>);
  unavailable?: string;
  where: string;
  close(): Promise<void>;
}

/** The user a ClickHouse client is logged in as (18.16 has no `currentUser()`: find our own query). */
async function clickHouseUser(client: ClickHouseClient): Promise<string> {
  const marker = `qistream_whoami_${crypto.randomUUID().replaceAll("-", "")}`;
  const result = await client.query({
    query: `SELECT any(user) AS user FROM system.processes WHERE query LIKE '%${marker}%'`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ user: string }>();
  return row?.user ?? "";
}

/**
 * Opens the ClickHouse query tools' access (see the module doc).
 *
 * @param config The configuration.
 * @param writer The writer's client.
 * @returns The access, or why there is none.
 */
export async function openClickHouseQuery(
  config: Config,
  writer: ClickHouseClient,
): Promise<ClickHouseQueryAccessResult> {
  const ch = config.connections.clickhouse!;
  const callers = new CallerLimit(config.mcp.query.perCaller, "mcp.query.perCaller");
  const writerUser = await clickHouseUser(writer);
  const off = (why: string): ClickHouseQueryAccessResult => {
    log.error(
      "clickhouse.query and clickhouse.describe are OFF: {why}. Set connections.clickhouse.readUrl " +
        "(CLICKHOUSE_READ_URL) to a read-only user, or see docs/tools.md",
      { why },
    );
    return { unavailable: why, where: `off (${why})`, close: () => Promise.resolve() };
  };
  if (!ch.readUrl && !ch.readUsername) {
    const why =
      `no read-only user is configured, and the writer's user "${writerUser}" could KILL QUERY the ` +
      "sink's statements even in readonly mode";
    if (!ch.unsafeQueryAsWriter) return off(why);
  }
  const client = createClient({
    url: ch.readUrl ?? ch.url,
    ...(ch.readUrl || ch.readUsername ? {} : { username: ch.username, password: ch.password }),
    ...(ch.readUsername ? { username: ch.readUsername } : {}),
    ...(ch.readPassword !== undefined ? { password: ch.readPassword } : {}),
    database: ch.database,
    max_open_connections: config.mcp.query.maxConnections,
    request_timeout: config.mcp.query.timeoutMs + 5_000,
    // Refused statements are the callers' errors, returned to them; the client would log each one again.
    log: { level: ClickHouseLogLevel.OFF },
  });
  const close = () => client.close();
  try {
    const user = await clickHouseUser(client);
    const settings = await client.query({
      query: "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time')",
      format: "JSONEachRow",
    });
    const values = Object.fromEntries(
      (await settings.json<{ name: string; value: string }>()).map((s) => [s.name, s.value]),
    );
    const readonly = values.readonly ?? "0";
    const risks: string[] = [];
    if (user === writerUser) risks.push(`it is the writer's user ("${user}")`);
    if (readonly === "2") risks.push("its profile has readonly=2, which allows table functions on 18.16");
    const describe = `user ${user} (${readonly === "1" ? "profile readonly=1" : "readonly=1 per query"})`;
    if (risks.length > 0) {
      const why = `the read user "${user}" is not safe: ${risks.join("; ")}`;
      if (!ch.unsafeQueryAsWriter) {
        await close();
        return off(why);
      }
      log.error(
        "UNSAFE: connections.clickhouse.unsafeQueryAsWriter is set, so clickhouse.query runs as {describe} although " +
          "{why}",
        { describe, why },
      );
    }
    if (readonly === "1" && (values.max_execution_time ?? "0") === "0") {
      log.warn(
        "clickhouse.query: the profile of {user} has readonly=1 but no max_execution_time, and accepts no " +
          "per-query limit; set max_execution_time (and max_result_rows) in its profile",
        { user },
      );
    }
    return {
      access: { client, limitsInQuery: readonly !== "1", callers, describe },
      where: risks.length ? `${describe} (UNSAFE)` : describe,
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw clickHouseError("connecting as the ClickHouse read user", error);
  }
}

/**
 * {@linkcode openClickHouseQuery}, or — when ClickHouse does not answer at start — access that opens on the
 * first call that needs it, and retries on the next while ClickHouse is still away.
 */
export async function openClickHouseQueryOrLater(
  config: Config,
  writer: ClickHouseClient,
): Promise<ClickHouseQueryAccessResult> {
  try {
    return await openClickHouseQuery(config, writer);
  } catch (error) {
    if (!isRetriableClickHouseError(error) && !isRetriable(error)) {
      throw error;
    }
    log.warn(
      "clickhouse.query: ClickHouse does not answer yet ({error}); its read user is checked on first use",
      {
        error,
      },
    );
    let opened: Promise<ClickHouseQueryAccessResult> | undefined;
    const open = () => {
      opened ??= openClickHouseQuery(config, writer).catch((e) => {
        opened = undefined;
        throw clickHouseError("opening the query tools' client", e);
      });
      return opened;
    };
    return {
      access: async () => {
        const result = await open();
        if (!result.access) {
          throw new QueryUnavailableError(
            `clickhouse.query and clickhouse.describe are off: ${result.unavailable}`,
          );
        }
        return result.access as ClickHouseQueryAccess;
      },
      where: "checked on first use (ClickHouse did not answer at start)",
      close: async () => {
        const result = await opened?.catch(() => undefined);
        await result?.close();
      },
    };
  }
}
