import assert from "node:assert/strict";
import { rowOf, rowOfRecord, sinkTables, TableSinkConfig } from "./_table_sink.ts";
import { RowsRefusedError } from "./rows_refused_error.ts";

const tick = {
  symbol: "BTC-USD",
  source: "synthetic",
  exchange: null,
  ts: 1_700_000_000_123,
  price: 1,
  bid: null,
};

Deno.test("rowOf keeps a decoded value's fields and makes its values plain", () => {
  assert.deepEqual(rowOf({ ...tick, bidSize: 3, receivedAt: new Date(5) }), {
    ...tick,
    bidSize: 3,
    receivedAt: 5,
  });
  assert.deepEqual(rowOf({ ...tick, ts: new Date(1_700_000_000_123) }), tick);
  assert.deepEqual(rowOf({ ...tick, ts: 1_700_000_000_123n }), tick);
  assert.deepEqual(rowOf({ id: "a", alertId: "b", attributes: new Map([["k", "v"]]) }), {
    id: "a",
    alertId: "b",
    attributes: { k: "v" },
  });
  assert.deepEqual(rowOf(new TextEncoder().encode(JSON.stringify(tick))), tick);
  // Anything else goes to the tool as it is, to be refused there (stage validate).
  assert.equal(rowOf(null), null);
  assert.equal(rowOf("x"), "x");
  assert.deepEqual(rowOf(new TextEncoder().encode("{nope")), { value: "<bytes that are not JSON>" });
});

Deno.test("sinkTables: the market topics by default, `table` names the tick table, `tables` overrides", () => {
  const defaults = sinkTables(TableSinkConfig.parse({}));
  assert.deepEqual(defaults, {
    "market.ticks": { kind: "tick", table: "market_ticks" },
    "market.bars": { kind: "bar", table: "market_bars" },
    "market.alerts": { kind: "alert", table: "market_alerts" },
    "market.insights": { kind: "insight", table: "market_insights" },
  });
  const custom = sinkTables(TableSinkConfig.parse({
    table: "ticks",
    tables: {
      "market.bars": { kind: "bar", table: "candles" },
      "lab.bars": { kind: "bar", table: "lab_bars" },
    },
  }));
  assert.equal(custom["market.ticks"]!.table, "ticks");
  assert.equal(custom["market.bars"]!.table, "candles");
  assert.equal(custom["lab.bars"]!.kind, "bar");
  assert.throws(() => TableSinkConfig.parse({ tables: { "x": { kind: "candle", table: "x" } } }), /kind/);
  assert.throws(
    () => TableSinkConfig.parse({ tables: { "x": { kind: "bar", table: "X-1" } } }),
    /identifier/,
  );
});

Deno.test("rowOfRecord adds the record's provenance, the tables' idempotency key", () => {
  const record = {
    topic: "market.ticks",
    partition: 4,
    offset: "9007199254740993",
    key: null,
    headers: {},
    timestamp: 0,
  };
  assert.deepEqual(rowOfRecord({ ...record, value: tick }), {
    ...tick,
    kafka_topic: "market.ticks",
    kafka_partition: 4,
    kafka_offset: "9007199254740993",
  });
  assert.equal(
    rowOfRecord({ ...record, value: "x" }),
    "x",
    "a non-object is left for the tool to refuse",
  );
});

Deno.test("RowsRefusedError names the refused records and is not retriable", () => {
  const rows = Array.from({ length: 7 }, (_, i) => ({
    index: i,
    topic: "market.ticks",
    partition: 2,
    offset: String(100 + i),
    stage: "database" as const,
    error: "23514: violates check constraint",
  }));
  const e = new RowsRefusedError("postgres.insert_rows", "market_ticks", rows, 50);
  assert.equal(e.retriable, false);
  assert.equal(e.name, "RowsRefusedError");
  assert.match(e.message, /^postgres\.insert_rows refused 7 of 50 rows for table market_ticks: /);
  assert.match(e.message, /market\.ticks\/2@100 \(database\): 23514: violates check constraint/);
  assert.match(e.message, /; and 2 more$/);
});
