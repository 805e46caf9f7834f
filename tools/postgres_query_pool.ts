/**
 * The query tools' own way into PostgreSQL: a small pool of its own (never the writer's), a per-caller
 * concurrency cap, timeouts, and a clean session after every call.
 *
 * Each call of {@linkcode PostgresQueryPool.run}:
 * 1. takes one of the caller's slots ({@linkcode CallerLimit}) — a caller over its cap is refused at once;
 * 2. reserves a connection of the pool, waiting at most `acquireTimeoutMs` (then {@linkcode QueryBusyError});
 * 3. `BEGIN READ ONLY`, then one `SELECT set_config(...)` that sets `statement_timeout`, `lock_timeout`,
 *    `idle_in_transaction_session_timeout` (and `role` / `search_path` when given) for this transaction only. It
 *    is a query, so a later `SET TRANSACTION READ WRITE` is refused ("must be called before any query");
 * 4. runs the work (the user's one statement through the extended protocol: never a multi-statement string);
 * 5. `ROLLBACK`, then `DISCARD ALL` — session-level advisory locks, `LISTEN`s, prepared statements, cursors,
 *    temporary tables and settings a statement left behind are gone before the connection serves anyone else.
 *    If the reset fails the connection is terminated instead of reused.
 *
 * Timeouts are enforced by the server, and backed by the node: a statement may lower its own `statement_timeout`
 * with `set_config()` (PostgreSQL re-reads it at every protocol message, so a cursor read could then run for
 * ever), so the pool aborts the `signal` it gives the work `watchdogGraceMs` after the statement timeout, and the
 * work cancels its statement (`Query.cancel()`: a CancelRequest on a new socket, allowed for any role on its own
 * session). The call then fails as a timeout. Embedded PostgreSQL (PGlite) honours neither: it runs statements
 * synchronously on the node's thread, so a long query stalls the node until it ends (see docs/tools.md).
 *
 * The pool is not the sandbox — the database role is: give it a client logged in as a role with only SELECT on
 * the node's tables (see postgres_reader_role.ts). A read-only transaction alone still lets a superuser run
 * `COPY ... TO PROGRAM` or `pg_read_file`.
 *
 * @module
 */
import type postgres from "postgres";
import { getLogger } from "../core/log.ts";
import { CallerLimit } from "./caller_limit.ts";
import { postgresError } from "./database_error.ts";
import { QueryBusyError } from "./query_busy_error.ts";

/** Limits of the query tools' pool; defaults in {@linkcode DEFAULT_QUERY_LIMITS}. */
export interface QueryLimits {
  /** Statement timeout, ms. */
  statementTimeoutMs: number;
  /** Lock wait timeout inside a query, ms. */
  lockTimeoutMs: number;
  /** A transaction left idle this long is ended by the server, ms. */
  idleInTransactionMs: number;
  /** How long a call waits for a free connection of the pool, ms. */
  acquireTimeoutMs: number;
  /** Calls one caller may have in flight. */
  perCaller: number;
}

/** Defaults of {@linkcode QueryLimits}. */
export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = {
  statementTimeoutMs: 5_000,
  lockTimeoutMs: 1_000,
  idleInTransactionMs: 10_000,
  acquireTimeoutMs: 5_000,
  perCaller: 2,
};

/** Options of {@linkcode PostgresQueryPool}. */
export interface PostgresQueryPoolOptions {
  /**
   * The client the query tools use, and nothing else (create it with `prepare: false`). Logged in as the read-only
   * role; for embedded PostgreSQL, the one shared client, with `role` set.
   */
  sql: postgres.Sql;
  /** What this pool runs as, for messages and logs, e.g. `role qistream_reader (created by the node)`. */
  describe: string;
  /** `SET LOCAL ROLE` to this role in every transaction (embedded PostgreSQL, whose only login is a superuser). */
  role?: string;
  /** `search_path` of every transaction. */
  searchPath?: string;
  /** Limits; defaults in {@linkcode DEFAULT_QUERY_LIMITS}. */
  limits?: Partial<QueryLimits>;
  /** How long after the statement timeout the node cancels a statement itself (default 1000 ms). */
  watchdogGraceMs?: number;
  /** Closes the client with the pool (default true; false when the client is shared). */
  ownsClient?: boolean;
}

const log = getLogger("tools");

const QUERY_TIMEOUT_SETTINGS = { statement: "mcp.query.timeoutMs", lock: "mcp.query.lockTimeoutMs" };

/** The query tools' pool; see the module doc. */
export class PostgresQueryPool {
  readonly describe: string;
  readonly limits: Readonly<QueryLimits>;
  readonly #options: PostgresQueryPoolOptions;
  readonly #callers: CallerLimit;

  /** @param options Client, role, limits. */
  constructor(options: PostgresQueryPoolOptions) {
    this.#options = options;
    this.describe = options.describe;
    this.limits = { ...DEFAULT_QUERY_LIMITS, ...options.limits };
    this.#callers = new CallerLimit(this.limits.perCaller, "mcp.query.perCaller");
  }

  /**
   * Runs `fn` for `caller` in a read-only transaction on a connection of this pool, then rolls back and resets
   * the session.
   *
   * @param caller Who is calling (`http:<token>`, `actor:<id>`): the unit of the concurrency cap.
   * @param fn The work, given the reserved connection (inside the transaction) and a signal aborted when the
   *   statement ran past its timeout: cancel the statement on it (`query.cancel()`).
   * @returns What `fn` returned.
   * @throws {QueryBusyError} When the caller is over its cap or no connection became free in time (retriable).
   * @throws {DatabaseError} When the database refused or failed the statement.
   */
  run<T>(caller: string, fn: (sql: postgres.Sql, signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.#callers.run(caller, async () => {
      const conn = await this.#reserve();
      const watchdog = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await conn.unsafe("BEGIN READ ONLY");
        const { statementTimeoutMs, lockTimeoutMs, idleInTransactionMs } = this.limits;
        const settings: [string, string][] = [
          ["statement_timeout", String(statementTimeoutMs)],
          ["lock_timeout", String(lockTimeoutMs)],
          ["idle_in_transaction_session_timeout", String(idleInTransactionMs)],
        ];
        if (this.#options.searchPath) settings.push(["search_path", this.#options.searchPath]);
        if (this.#options.role) settings.push(["role", this.#options.role]); // last: the others need no privilege
        await conn.unsafe(
          `SELECT ${settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(", ")}`,
          settings.flat(),
        );
        timer = setTimeout(
          () => watchdog.abort(),
          statementTimeoutMs + (this.#options.watchdogGraceMs ?? 1000),
        );
        return await fn(conn, watchdog.signal);
      } catch (error) {
        if (watchdog.signal.aborted && (error as { code?: unknown })?.code === "57014") {
          throw postgresError(
            "running the query",
            Object.assign(
              new Error(`the statement ran past ${this.limits.statementTimeoutMs} ms and was cancelled`),
              {
                code: "57014",
                cause: error,
              },
            ),
            QUERY_TIMEOUT_SETTINGS,
          );
        }
        // Database and connection errors carry a code; the work's own errors (RangeError, ...) pass unchanged.
        if (typeof (error as { code?: unknown })?.code !== "string") throw error;
        throw postgresError("running the query", error, QUERY_TIMEOUT_SETTINGS);
      } finally {
        clearTimeout(timer);
        await this.#reset(conn);
      }
    });
  }

  /** Closes the pool's client (unless shared). */
  async close(): Promise<void> {
    if (this.#options.ownsClient !== false) await this.#options.sql.end({ timeout: 5 });
  }

  async #reserve(): Promise<postgres.ReservedSql> {
    const pending = this.#options.sql.reserve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.limits.acquireTimeoutMs);
    });
    try {
      const got = await Promise.race([pending, timeout]);
      if (got !== "timeout") return got;
    } finally {
      clearTimeout(timer);
    }
    pending.then((conn) => conn.release(), () => {});
    throw new QueryBusyError(
      `Cannot run the query: no connection of the query tools' pool became free within ` +
        `${this.limits.acquireTimeoutMs} ms (mcp.query.maxConnections); retry later`,
    );
  }

  /** Rolls back and resets the session. A dedicated pool's connection that cannot be reset is ended, never reused. */
  async #reset(conn: postgres.ReservedSql): Promise<void> {
    try {
      await conn.unsafe("ROLLBACK");
      await conn.unsafe("DISCARD ALL");
    } catch (error) {
      log.warn("query session reset failed, closing the connection: {error}", { error });
      // A role may end its own session; the client opens a fresh connection for the next call. Not on a shared
      // client (embedded PostgreSQL has one session: ending it would end the database).
      if (this.#options.ownsClient !== false) {
        await conn.unsafe("SELECT pg_terminate_backend(pg_backend_pid())").catch(() => {});
      }
    } finally {
      conn.release();
    }
  }
}
