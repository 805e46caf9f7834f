import assert from "node:assert/strict";
import { ToolCallError } from "../runtime/tool_call_error.ts";
import { CircuitOpenError } from "../shared/circuit_breaker.ts";
import { isRetriableToolFailure, tickRowOf, tickRowOfRecord } from "./_tick_sink.ts";
import { RowsRefusedError } from "./rows_refused_error.ts";

const tick = {
  symbol: "BTC-USD",
  source: "synthetic",
  exchange: null,
  ts: 1_700_000_000_123,
  price: 1,
  bid: null,
};

Deno.test("tickRowOf keeps the market.tick v1 fields of a decoded value", () => {
  assert.deepEqual(tickRowOf({ ...tick, bidSize: 3, currency: "USD", receivedAt: 5 }), tick);
  assert.deepEqual(tickRowOf({ ...tick, ts: new Date(1_700_000_000_123) }), tick);
  assert.deepEqual(tickRowOf({ ...tick, ts: 1_700_000_000_123n }), tick);
  assert.deepEqual(tickRowOf(new TextEncoder().encode(JSON.stringify(tick))), tick);
  // Anything else goes to the tool as it is, to be refused there (stage validate).
  assert.equal(tickRowOf(null), null);
  assert.equal(tickRowOf("x"), "x");
  assert.deepEqual(tickRowOf(new TextEncoder().encode("{nope")), { value: "<bytes that are not JSON>" });
});

Deno.test("tickRowOfRecord adds the record's provenance, the tables' idempotency key", () => {
  const record = {
    topic: "market.ticks",
    partition: 4,
    offset: "9007199254740993",
    key: null,
    headers: {},
    timestamp: 0,
  };
  assert.deepEqual(tickRowOfRecord({ ...record, value: tick }), {
    ...tick,
    kafka_topic: "market.ticks",
    kafka_partition: 4,
    kafka_offset: "9007199254740993",
  });
  assert.equal(
    tickRowOfRecord({ ...record, value: "x" }),
    "x",
    "a non-object is left for the tool to refuse",
  );
});

Deno.test("isRetriableToolFailure: outages are retried; refusals and bad arguments are not", () => {
  const remote = (name: string, message = "failed") =>
    new ToolCallError("postgres.insert_rows", message, { remoteName: name });
  assert.equal(isRetriableToolFailure(remote("Error", "Error: connect ECONNREFUSED 127.0.0.1:5432")), true);
  assert.equal(isRetriableToolFailure(remote("PostgresError", 'relation "t" does not exist')), true);
  assert.equal(isRetriableToolFailure(remote("ClickHouseError", "Timeout error.")), true);
  assert.equal(isRetriableToolFailure(new CircuitOpenError("postgres", 100)), true);
  assert.equal(isRetriableToolFailure(remote("AccessDenied", 'access denied: caller "actor:x"')), false);
  assert.equal(isRetriableToolFailure(remote("RangeError")), false);
  assert.equal(
    isRetriableToolFailure(remote("ToolError", "MCP error -32602: Input validation error: rows")),
    false,
  );
  assert.equal(
    isRetriableToolFailure(new ToolCallError("x", 'tool "x" is not in this agent\'s spec.tools')),
    false,
  );
  assert.equal(isRetriableToolFailure(new TypeError("bug")), false);
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
