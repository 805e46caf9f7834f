/**
 * A database call of a tool failed: the error the `postgres.*` and `clickhouse.*` tools throw for anything that is
 * not a refused row, with a `retriable` flag computed from the database's own error code — so a lock timeout or a
 * lost connection reaches the sink as retriable (it backs off and tries again), while a permission error does not
 * claim it will heal.
 *
 * @module
 */
import { clickHouseErrorCode } from "./clickhouse_table.ts";
import { TableLayoutError } from "./table_layout_error.ts";

/** A database refused or failed a tool's statement. */
export class DatabaseError extends Error {
  override name = "DatabaseError";
  /** The database's code: a PostgreSQL SQLSTATE, a ClickHouse error number, or a driver code (`ECONNRESET`). */
  readonly code?: string;
  /** true when the same call may succeed later (timeouts, lost connections, server overload). */
  readonly retriable: boolean;

  /**
   * @param message What was being done and what the database said.
   * @param opts The code, whether it is retriable, and the original error.
   */
  constructor(message: string, opts: { code?: string; retriable: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.code = opts.code;
    this.retriable = opts.retriable;
  }
}

/** A table of an outdated layout: retriable, as the same call succeeds once the table is migrated. */
function layoutError(doing: string, error: TableLayoutError): DatabaseError {
  return new DatabaseError(`${doing}: ${error.message}`, { retriable: true, cause: error });
}

/** Driver and socket error codes of a connection that failed or went away. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/**
 * Whether a PostgreSQL error may go away by itself: SQLSTATE classes 08 (connection), 40 (serialization
 * failure, deadlock), 53 (insufficient resources), 57 (statement timeout `57014`, server shutting down), `55P03`
 * (lock timeout), and the driver's connection errors.
 *
 * @param error What the `postgres` client threw.
 * @returns true when retrying may succeed.
 */
export function isRetriablePostgresError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return false;
  return /^(08|40|53|57)/.test(code) || code === "55P03" || CONNECTION_CODES.has(code);
}

/** The settings named in a timeout's message. */
export interface TimeoutSettings {
  /** The setting of the statement timeout, e.g. `connections.postgres.statementTimeoutMs`. */
  statement: string;
  /** The setting of the lock timeout. */
  lock: string;
}

/** The writer's timeout settings. */
export const WRITER_TIMEOUT_SETTINGS: TimeoutSettings = {
  statement: "connections.postgres.statementTimeoutMs",
  lock: "connections.postgres.lockTimeoutMs",
};

/**
 * Wraps a PostgreSQL error as a {@linkcode DatabaseError}, saying what was being done.
 *
 * @param doing What the tool was doing, e.g. `creating table "ticks"`.
 * @param error What the client threw.
 * @param settings The timeout settings to name when a timeout fired.
 * @returns The error to throw.
 */
export function postgresError(
  doing: string,
  error: unknown,
  settings: TimeoutSettings = WRITER_TIMEOUT_SETTINGS,
): DatabaseError {
  if (error instanceof DatabaseError) return error;
  if (error instanceof TableLayoutError) return layoutError(doing, error);
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  const hint = code === "55P03"
    ? ` (a lock held by another session; ${settings.lock})`
    : code === "57014"
    ? ` (${settings.statement})`
    : "";
  return new DatabaseError(`${doing}: ${typeof code === "string" ? `${code}: ` : ""}${message}${hint}`, {
    code: typeof code === "string" ? code : undefined,
    retriable: isRetriablePostgresError(error),
    cause: error,
  });
}

/**
 * ClickHouse error numbers that may go away by themselves: timeouts (159, 209), network (210), too many
 * queries (202), memory (241), read-only replica (242), too many parts (252), deadlock avoided (473).
 */
const RETRIABLE_CLICKHOUSE_CODES = new Set([159, 202, 209, 210, 241, 242, 252, 473]);

/**
 * Whether a ClickHouse error may go away by itself (see {@linkcode RETRIABLE_CLICKHOUSE_CODES}, the client's
 * request timeout and lost connections).
 *
 * @param error What `@clickhouse/client` threw.
 * @returns true when retrying may succeed.
 */
export function isRetriableClickHouseError(error: unknown): boolean {
  const code = clickHouseErrorCode(error);
  if (code !== undefined) return RETRIABLE_CLICKHOUSE_CODES.has(code);
  const driver = (error as { code?: unknown })?.code;
  if (typeof driver === "string" && CONNECTION_CODES.has(driver)) return true;
  return error instanceof Error && /timeout|socket hang up|ECONNRE(SET|FUSED)/i.test(error.message);
}

/**
 * Wraps a ClickHouse error as a {@linkcode DatabaseError}, saying what was being done.
 *
 * @param doing What the tool was doing.
 * @param error What the client threw.
 * @returns The error to throw.
 */
export function clickHouseError(doing: string, error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  if (error instanceof TableLayoutError) return layoutError(doing, error);
  const code = clickHouseErrorCode(error) ?? (error as { code?: unknown })?.code;
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();
  return new DatabaseError(`${doing}: ${message}`, {
    code: code === undefined ? undefined : String(code),
    retriable: isRetriableClickHouseError(error),
    cause: error,
  });
}

/** Codes of a table that does not exist: PostgreSQL `42P01` (undefined_table), ClickHouse 60 (UNKNOWN_TABLE). */
const MISSING_TABLE_CODES = new Set(["42P01", "60"]);

/**
 * Marks a write into a missing table as retriable: the writer's `ensure_table` creates the table again (the tick
 * sinks call it before their next try), so the same insert then succeeds. Any other error is returned as it is.
 *
 * @param error A wrapped write error.
 * @returns The error to throw.
 */
export function missingTableHeals(error: DatabaseError): DatabaseError {
  if (error.retriable || !MISSING_TABLE_CODES.has(error.code ?? "")) return error;
  return new DatabaseError(`${error.message} (the table is missing; ensure_table creates it again)`, {
    code: error.code,
    retriable: true,
    cause: error.cause,
  });
}
