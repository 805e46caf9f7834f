import assert from "node:assert/strict";
import { z } from "zod";
import { checkTickRow, tickRowInputSchema, tickRowSchema, validateTickRows } from "./tick_row.ts";

const good = {
  symbol: "BTC-USD",
  source: "synthetic",
  exchange: "x",
  ts: 1_700_000_000_000,
  price: 1.5,
  kafka_topic: "market.ticks",
  kafka_partition: 3,
  kafka_offset: "9223372036854775807",
};

Deno.test("checkTickRow agrees with tickRowSchema on valid and invalid rows", () => {
  const cases: unknown[] = [
    good,
    { ...good, exchange: null, bid: null, ask: 1, volume: 0 },
    { ...good, extra: "dropped" },
    { ...good, exchange: undefined },
    { ...good, ts: 1.5 },
    { ...good, ts: 2 ** 60 },
    { ...good, price: Infinity },
    { ...good, price: "1" },
    { ...good, symbol: "" },
    { ...good, bid: NaN },
    { ...good, exchange: 3 },
    { ...good, kafka_topic: "" },
    { ...good, kafka_partition: -1 },
    { ...good, kafka_partition: 1.5 },
    { ...good, kafka_offset: 7 },
    { ...good, kafka_offset: "07" },
    { ...good, kafka_offset: "12345678901234567890" },
    { ...good, kafka_offset: undefined },
    { source: "s", ts: 1, price: 1 },
    [good],
    null,
    "row",
  ];
  for (const raw of cases) {
    const parsed = tickRowSchema.safeParse(raw);
    const checked = checkTickRow(raw);
    assert.equal(checked.row !== undefined, parsed.success, JSON.stringify(raw));
    if (parsed.success) assert.deepEqual(checked.row, parsed.data);
    else assert.match(checked.error!, /: /);
  }
});

Deno.test("validateTickRows reports a bad row by index and keeps the others", () => {
  const { valid, errors } = validateTickRows([good, { ...good, ts: "soon" }, { ...good, ts: 2 }]);
  assert.deepEqual(valid.map((v) => v.index), [0, 2]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.index, 1);
  assert.equal(errors[0]!.stage, "validate");
  assert.match(errors[0]!.error, /^ts: /);
});

Deno.test("tickRowInputSchema checks each row once, never fails the array, and is advertised as a tick row", () => {
  const rows = z.array(tickRowInputSchema).parse([good, { symbol: 1 }]);
  assert.deepEqual(rows[0], { row: good });
  assert.match(rows[1]!.error!, /symbol/);
  const json = z.toJSONSchema(z.array(tickRowInputSchema), { io: "input" }) as {
    items: { type: string; required: string[] };
  };
  assert.equal(json.items.type, "object");
  assert.deepEqual(json.items.required, [
    "symbol",
    "source",
    "ts",
    "price",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
  ]);
});
