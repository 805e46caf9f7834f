import assert from "node:assert/strict";
import { appendRecords, type CoalescedUnit, isReady, mustPause } from "./batch_coalescer.ts";

type U = CoalescedUnit<number>;
const limits = { maxRecords: 4, maxWaitMs: 100 };
const make = (at: number) => (records: number[]): U => ({ records, sealed: false, firstAt: at });

Deno.test("appendRecords fills the open last unit, then cuts units of at most maxRecords", () => {
  const queue: U[] = [];
  appendRecords(queue, [1, 2], limits, make(0));
  const { merged, created } = appendRecords(queue, [3, 4, 5, 6, 7, 8, 9], limits, make(50));
  assert.equal(merged, queue[0]);
  assert.deepEqual(queue.map((u) => u.records), [[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  assert.equal(created.length, 2);
  assert.deepEqual(queue.map((u) => u.sealed), [true, true, false]);
  assert.deepEqual(queue.map((u) => u.firstAt), [0, 50, 50], "a merged unit keeps its first record's time");
});

Deno.test("appendRecords never merges into a sealed unit (a retry or a redelivery)", () => {
  const retry: U = { records: [1], sealed: true, firstAt: 0 };
  const queue = [retry];
  const { merged } = appendRecords(queue, [2, 3], limits, make(10));
  assert.equal(merged, undefined);
  assert.deepEqual(queue.map((u) => u.records), [[1], [2, 3]]);
  assert.deepEqual(retry.records, [1]);
});

Deno.test("isReady: full, sealed, or maxWaitMs after the first record; at once with maxWaitMs 0", () => {
  const young: U = { records: [1], sealed: false, firstAt: 1000 };
  assert.equal(isReady(young, limits, 1099), false);
  assert.equal(isReady(young, limits, 1100), true);
  assert.equal(isReady({ ...young, records: [1, 2, 3, 4] }, limits, 1000), true);
  assert.equal(isReady({ ...young, sealed: true }, limits, 1000), true);
  assert.equal(isReady(young, { maxRecords: 4, maxWaitMs: 0 }, 1000), true);
});

Deno.test("mustPause: only a single open unit keeps its partition fetching", () => {
  assert.equal(mustPause([], limits), false);
  assert.equal(mustPause([{ records: [1], sealed: false, firstAt: 0 }], limits), false);
  assert.equal(mustPause([{ records: [1, 2, 3, 4], sealed: false, firstAt: 0 }], limits), true);
  assert.equal(mustPause([{ records: [1], sealed: true, firstAt: 0 }], limits), true);
  assert.equal(
    mustPause(
      [{ records: [1], sealed: true, firstAt: 0 }, { records: [2], sealed: false, firstAt: 0 }],
      limits,
    ),
    true,
  );
});
