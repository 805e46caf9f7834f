/**
 * Test helper: the query tools' pool as the node builds it on a server — the `qistream_reader` role created by
 * the writer (the test services' superuser) and a pool of its own logged in as that role.
 *
 * @module
 */
import postgres from "postgres";
import { PostgresQueryPool, type QueryLimits } from "./postgres_query_pool.ts";
import { ensureReaderRole } from "./postgres_reader_role.ts";

/** The role the tests' pools log in as (the node's default). */
export const TEST_READER_ROLE = "qistream_reader";

/**
 * Creates (or updates) the reader role with `writer` and opens a pool logged in as it.
 *
 * @param writer The writer's client (a superuser in the test services).
 * @param limits Pool limits.
 * @param max Connections of the pool.
 * @returns The pool; close it with `close()`.
 */
export async function testReaderPool(
  writer: postgres.Sql,
  limits: Partial<QueryLimits> = {},
  max = 4,
): Promise<PostgresQueryPool> {
  const password = "qistream-test-reader";
  await ensureReaderRole(writer, TEST_READER_ROLE, password);
  const sql = postgres(Deno.env.get("DATABASE_URL")!, {
    username: TEST_READER_ROLE,
    password,
    max,
    prepare: false,
    onnotice: () => {},
  });
  return new PostgresQueryPool({ sql, describe: `role ${TEST_READER_ROLE} (test)`, limits });
}
