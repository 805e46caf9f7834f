import assert from "node:assert/strict";
import { insertIsolating } from "./insert_isolating.ts";
import type { IndexedRow } from "./table_rows.ts";

const rows = (n: number): IndexedRow[] =>
  Array.from({ length: n }, (_, index) => ({
    index,
    row: {
      symbol: "S",
      source: "x",
      ts: index,
      price: 1,
      kafka_topic: "t",
      kafka_partition: 0,
      kafka_offset: `${index}`,
    },
  }));

class DataError extends Error {}

/** A table that refuses rows whose index is in `bad`, whole statement at a time, like a database. */
function table(bad: Set<number>) {
  const stored = new Set<number>();
  const insert = (part: readonly IndexedRow[]) => {
    const refused = part.find((r) => bad.has(r.index));
    if (refused) return Promise.reject(new DataError(`row ${refused.index} refused`));
    let fresh = 0;
    for (const r of part) if (!stored.has(r.index)) (stored.add(r.index), fresh++);
    return Promise.resolve(fresh);
  };
  return { stored, insert };
}

const classify = (e: unknown) => (e instanceof DataError ? e.message : undefined);

Deno.test("a clean batch is one statement; bad rows are isolated by bisection and the rest is written", async () => {
  const clean = table(new Set());
  assert.deepEqual(await insertIsolating(rows(500), clean.insert, classify), {
    inserted: 500,
    statements: 1,
    errors: [],
  });

  const t = table(new Set([7, 300]));
  const r = await insertIsolating(rows(500), t.insert, classify);
  assert.equal(r.inserted, 498);
  assert.deepEqual(r.errors, [
    { index: 7, stage: "database", error: "row 7 refused" },
    { index: 300, stage: "database", error: "row 300 refused" },
  ]);
  assert.equal(t.stored.size, 498);
  assert.ok(r.statements <= 1 + 2 * 2 * Math.ceil(Math.log2(500)), `statements: ${r.statements}`);
});

Deno.test("an error that is not a data refusal is rethrown, not bisected", async () => {
  let calls = 0;
  const down = () => (calls++, Promise.reject(new Error("connection refused")));
  await assert.rejects(insertIsolating(rows(100), down, classify), /connection refused/);
  assert.equal(calls, 1);
});
