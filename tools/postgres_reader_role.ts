/**
 * The read-only PostgreSQL role of the query tools: created and maintained by the node, granted SELECT on the
 * tables the node creates, and checked before the query tools are served over it.
 *
 * - {@linkcode ensureReaderRole} (a server, as the writer): creates or updates a LOGIN role with no attributes
 *   (not superuser, no CREATEROLE/CREATEDB/REPLICATION/BYPASSRLS), a password given as a SCRAM verifier, and
 *   role defaults `default_transaction_read_only = on` plus timeouts, so even a person who logs in with it by hand
 *   is read-only and bounded. It needs a writer with CREATEROLE (or a superuser).
 * - {@linkcode prepareEmbeddedSandbox} (embedded PostgreSQL, whose only session is a superuser): a NOLOGIN role the
 *   query tools switch to with `SET LOCAL ROLE`, and the two ways a statement could switch back — the
 *   `set_config()` function and `DO` blocks (PL/pgSQL) — taken away from PUBLIC. A single statement cannot run
 *   `SET ROLE` and anything else, and the transaction is rolled back afterwards. `pg_sleep*` are taken away too:
 *   PGlite cannot time a statement out.
 * - {@linkcode grantReaderSelect}: SELECT on one table (called by `ensure_table`), nothing else.
 * - {@linkcode queryRoleRisks}: what makes a role unfit to run the query tools — superuser, role attributes,
 *   membership in `pg_read_server_files`, `pg_write_server_files`, `pg_execute_server_program`,
 *   `pg_signal_backend`, `pg_read_all_data`, `pg_write_all_data`, ..., or in the writer; being the writer.
 *
 * @module
 */
import type postgres from "postgres";
import { scramSha256Verifier } from "./_scram_verifier.ts";

/** Predefined roles whose members can read or write server files, run programs, signal other sessions, or see or
 * change all data: a query role must be a member of none of them. */
export const DANGEROUS_PREDEFINED_ROLES = [
  "pg_read_server_files",
  "pg_write_server_files",
  "pg_execute_server_program",
  "pg_signal_backend",
  "pg_signal_autovacuum_worker",
  "pg_read_all_data",
  "pg_write_all_data",
  "pg_checkpoint",
  "pg_maintain",
  "pg_create_subscription",
  "pg_use_reserved_connections",
] as const;

/** Role defaults of the node's reader role (also bound the role when someone logs in with it by hand). */
const READER_ROLE_SETTINGS: Record<string, string> = {
  default_transaction_read_only: "on",
  statement_timeout: "30s",
  lock_timeout: "5s",
  idle_in_transaction_session_timeout: "30s",
};

/** The writer cannot create or update the reader role. */
export class ReaderRoleError extends Error {
  override name = "ReaderRoleError";
  /** Needs an operator (grant CREATEROLE, or configure a read-only role). */
  readonly retriable = false;
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new RangeError(`Cannot use role name "${name}": expected a lowercase identifier`);
  }
  return `"${name}"`;
}

/** What {@linkcode ensureReaderRole} did. */
export interface ReaderRoleResult {
  /** false when the role existed and was updated. */
  created: boolean;
  /** The schema the role was granted USAGE on (the writer's current schema). */
  schema: string;
}

/**
 * Creates or updates the reader role (see the module doc). Serialised across nodes by an advisory lock.
 *
 * @param writer The writer's client (superuser or CREATEROLE).
 * @param role Role name.
 * @param password Its password (printable ASCII); sent only as a SCRAM verifier.
 * @returns Whether it was created, and the schema it may use.
 * @throws {ReaderRoleError} When the writer may not create or alter roles.
 */
export async function ensureReaderRole(
  writer: postgres.Sql,
  role: string,
  password: string,
): Promise<ReaderRoleResult> {
  const name = ident(role);
  const verifier = await scramSha256Verifier(password);
  const [me] = await writer`
    SELECT current_user AS name, rolsuper AS super, rolcreaterole AS createrole, current_schema() AS schema
    FROM pg_roles WHERE rolname = current_user`;
  if (!me?.super && !me?.createrole) {
    throw new ReaderRoleError(
      `Cannot create the read-only role "${role}": the writer "${me?.name}" has neither CREATEROLE nor SUPERUSER. ` +
        `Create a read-only role yourself and set connections.postgres.readUrl (DATABASE_READ_URL); see docs/tools.md`,
    );
  }
  if (me.name === role) {
    throw new ReaderRoleError(`Cannot use "${role}" as the read-only role: it is the writer's own role`);
  }
  try {
    return await writer.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext('qistream.reader_role'))`;
      const [found] = await tx`SELECT rolsuper FROM pg_roles WHERE rolname = ${role}`;
      // Only a superuser may name SUPERUSER/REPLICATION/BYPASSRLS at all; the defaults of CREATE ROLE are "no".
      const attributes = me.super
        ? "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        : "LOGIN NOCREATEDB NOCREATEROLE";
      await tx.unsafe(`${found ? "ALTER" : "CREATE"} ROLE ${name} WITH ${attributes} PASSWORD '${verifier}'`);
      for (const [setting, value] of Object.entries(READER_ROLE_SETTINGS)) {
        await tx.unsafe(`ALTER ROLE ${name} SET ${setting} = '${value}'`);
      }
      if (me.super) await tx.unsafe(`ALTER ROLE ${name} SET temp_file_limit = '1GB'`); // a superuser-only setting
      // USAGE on the writer's schema, when PUBLIC does not already give it (only its owner may grant it).
      const [usage] = me.schema
        ? await tx`SELECT has_schema_privilege(${role}, ${me.schema}, 'USAGE') AS ok`
        : [];
      if (me.schema && !usage?.ok) {
        await tx.unsafe(`GRANT USAGE ON SCHEMA "${String(me.schema).replaceAll('"', '""')}" TO ${name}`);
      }
      return { created: !found, schema: String(me.schema ?? "public") };
    });
  } catch (error) {
    if (error instanceof ReaderRoleError) throw error;
    throw new ReaderRoleError(
      `Cannot create or update the read-only role "${role}": ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Sets up the embedded query sandbox (see the module doc). Idempotent.
 *
 * @param sql The embedded database's client (superuser).
 * @param role The NOLOGIN role the query tools switch to.
 */
export async function prepareEmbeddedSandbox(sql: postgres.Sql, role: string): Promise<void> {
  const name = ident(role);
  await sql.begin(async (tx) => {
    const [found] = await tx`SELECT 1 FROM pg_roles WHERE rolname = ${role}`;
    if (!found) await tx.unsafe(`CREATE ROLE ${name} NOLOGIN`);
    await tx.unsafe("REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC");
    await tx.unsafe("REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC");
    // PGlite cannot time a statement out and blocks the node while one runs: no sleeping on purpose.
    await tx.unsafe(
      "REVOKE EXECUTE ON FUNCTION pg_sleep(double precision), pg_sleep_for(interval), " +
        "pg_sleep_until(timestamp with time zone) FROM PUBLIC",
    );
  });
}

/**
 * Grants the reader role SELECT on one table (only that), when the role exists and does not have it yet.
 * Serialised per table by the advisory lock `ensure_table` takes: two concurrent GRANTs on one table fail in
 * PostgreSQL with "tuple concurrently updated" (XX000).
 *
 * @param sql The writer's client (the table's owner).
 * @param table A validated lowercase identifier.
 * @param role The reader role.
 */
export async function grantReaderSelect(sql: postgres.Sql, table: string, role: string): Promise<void> {
  const name = ident(role);
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`qistream.ensure_table.${table}`}))`;
    const [found] = await tx`
      SELECT has_table_privilege(${role}, ${`"${table}"`}, 'SELECT') AS granted
      FROM pg_roles WHERE rolname = ${role}`;
    if (found && !found.granted) await tx.unsafe(`GRANT SELECT ON "${table}" TO ${name}`);
  });
}

/**
 * Why the role `reader` is logged in as must not run the query tools, checked in the database.
 *
 * @param reader A client logged in as the candidate role.
 * @param writerRole The writer's role name (`current_user` of the writer).
 * @returns One sentence per problem; empty when the role is fit.
 */
export async function queryRoleRisks(reader: postgres.Sql, writerRole: string): Promise<string[]> {
  const [me] = await reader`
    SELECT current_user AS name, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
    FROM pg_roles WHERE rolname = current_user`;
  if (!me) return ["the role is not in pg_roles"];
  const risks: string[] = [];
  if (me.name === writerRole) risks.push(`it is the writer's role ("${writerRole}")`);
  if (me.rolsuper) risks.push("it is a superuser");
  for (
    const [flag, what] of [
      ["rolcreaterole", "CREATEROLE"],
      ["rolcreatedb", "CREATEDB"],
      ["rolreplication", "REPLICATION"],
      ["rolbypassrls", "BYPASSRLS"],
    ] as const
  ) if (me[flag]) risks.push(`it has ${what}`);
  const roles = [...DANGEROUS_PREDEFINED_ROLES, ...(me.name === writerRole ? [] : [writerRole])];
  const members = await reader`
    SELECT r.rolname AS role FROM pg_roles r
    WHERE r.rolname = ANY(${roles}) AND pg_has_role(current_user, r.oid, 'MEMBER')
    ORDER BY r.rolname`;
  for (const { role } of members) {
    risks.push(
      role === writerRole ? `it is a member of the writer's role ("${role}")` : `it is a member of ${role}`,
    );
  }
  return risks;
}
