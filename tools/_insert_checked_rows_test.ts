import assert from "node:assert/strict";
import { insertCheckedRows } from "./_insert_checked_rows.ts";
import type { IndexedRow } from "./table_rows.ts";

class DataError extends Error {}

const tick = (ts: number) => ({
  symbol: "S",
  source: "x",
  ts,
  price: 1,
  kafka_topic: "t",
  kafka_partition: 0,
  kafka_offset: `${ts}`,
});

Deno.test("insertCheckedRows writes the valid rows and reports validation and database errors by index", async () => {
  const stored: number[] = [];
  const insert = (part: readonly IndexedRow[]) => {
    const refused = part.find((r) => r.row.ts === 3);
    if (refused) return Promise.reject(new DataError(`ts ${refused.row.ts} refused`));
    stored.push(...part.map((r) => r.index));
    return Promise.resolve(part.length - part.filter((r) => r.row.ts === 0).length); // ts 0 "already there"
  };
  const raw = [tick(0), { symbol: "S" }, tick(2), tick(3), tick(4)];
  const r = await insertCheckedRows(
    "tick",
    raw,
    insert,
    (e) => e instanceof DataError ? e.message : undefined,
  );
  assert.equal(r.accepted, 3);
  assert.equal(r.inserted, 2);
  assert.ok(r.statements > 1, "the refused batch was not bisected");
  assert.deepEqual(stored.sort(), [0, 2, 4]);
  assert.deepEqual(r.errors.map((e) => [e.index, e.stage]), [[1, "validate"], [3, "database"]]);
  assert.equal(r.errors[1]!.error, "ts 3 refused");
});

Deno.test("insertCheckedRows rethrows an error that is not a data refusal", async () => {
  await assert.rejects(
    insertCheckedRows(
      "tick",
      [tick(1)],
      () => Promise.reject(new Error("connection lost")),
      () => undefined,
    ),
    /connection lost/,
  );
});
