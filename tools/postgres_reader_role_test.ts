import assert from "node:assert/strict";
import postgres from "postgres";
import { needs, uniqueName } from "../tests/service_env.ts";
import { grantReaderSelect } from "./postgres_reader_role.ts";
import { TEST_READER_ROLE, testReaderPool } from "./_test_reader_pool.ts";

const env = needs("DATABASE_URL");

Deno.test(
  { ...env, name: "grantReaderSelect: 8 concurrent grants on a new table all succeed (×10)" },
  async () => {
    // Before the grants were serialised, about half of such rounds failed with XX000 "tuple concurrently updated"
    // (seen in CI as a failed concurrent postgres.ensure_table).
    const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {}, max: 8 });
    await (await testReaderPool(sql)).close();
    const table = uniqueName("grants").toLowerCase();
    try {
      for (let round = 0; round < 10; round++) {
        await sql.unsafe(`DROP TABLE IF EXISTS "${table}"; CREATE TABLE "${table}" (x int)`);
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, () => grantReaderSelect(sql, table, TEST_READER_ROLE)),
        );
        assert.deepEqual(results.filter((r) => r.status === "rejected"), [], `round ${round}`);
        const [g] = await sql`SELECT has_table_privilege(${TEST_READER_ROLE}, ${table}, 'SELECT') AS ok`;
        assert.equal(g!.ok, true, "the reader may read the table");
      }
    } finally {
      await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
      await sql.end();
    }
  },
);
