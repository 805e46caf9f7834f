import assert from "node:assert/strict";
import { z } from "zod";
import { tableKind } from "./table_kinds/mod.ts";
import { rowsInputSchema, validateRows } from "./table_rows.ts";

const tickRowSchema = tableKind("tick").rows.schema;
const checkTickRow = tableKind("tick").rows.check;

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

Deno.test("the tick kind's fast row check agrees with its zod schema on valid and invalid rows", () => {
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

Deno.test("validateRows reports a bad row by index and keeps the others", () => {
  const { valid, errors } = validateRows("tick", [good, { ...good, ts: "soon" }, { ...good, ts: 2 }]);
  assert.deepEqual(valid.map((v) => v.index), [0, 2]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.index, 1);
  assert.equal(errors[0]!.stage, "validate");
  assert.match(errors[0]!.error, /^ts: /);
});

Deno.test("the insert tools' rows are advertised as rows of one of the kinds, with their required columns", () => {
  const json = z.toJSONSchema(rowsInputSchema(10), { io: "input" }) as {
    items: { anyOf: { title: string; type: string; required: string[] }[] };
  };
  const tick = json.items.anyOf.find((k) => k.title === "tick row")!;
  assert.equal(tick.type, "object");
  assert.deepEqual(tick.required, [
    "symbol",
    "source",
    "ts",
    "price",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
  ]);
  assert.deepEqual(json.items.anyOf.map((k) => k.title), ["tick row", "bar row", "alert row", "insight row"]);
});

const provenance = { kafka_topic: "market.alerts", kafka_partition: 0, kafka_offset: "1" };

Deno.test("each kind's fast row check agrees with its zod schema", () => {
  const cases: Record<string, unknown[]> = {
    bar: [
      {
        symbol: "S",
        source: "x",
        interval: "1m",
        ts: 0,
        open: 1,
        high: 2,
        low: 0.5,
        close: 1,
        volume: 0,
        ...provenance,
      },
      {
        symbol: "S",
        source: "x",
        interval: "1m",
        ts: 0,
        open: 1,
        high: 2,
        low: 0.5,
        close: 1,
        volume: 0,
        trades: 3,
        exchange: null,
        ...provenance,
      },
      {
        symbol: "S",
        source: "x",
        interval: "",
        ts: 0,
        open: 1,
        high: 2,
        low: 0.5,
        close: 1,
        volume: 0,
        ...provenance,
      },
      {
        symbol: "S",
        source: "x",
        interval: "1m",
        ts: 0,
        open: 1,
        high: 2,
        low: 0.5,
        close: 1,
        volume: 0,
        trades: 1.5,
        ...provenance,
      },
      {
        symbol: "S",
        source: "x",
        interval: "1m",
        ts: 0,
        open: 1,
        high: 2,
        low: 0.5,
        close: 1,
        ...provenance,
      },
    ],
    alert: [
      {
        id: "a",
        ts: 1,
        source: "m",
        rule: "price_jump",
        severity: "WARNING",
        message: "",
        attributes: { k: "v" },
        ...provenance,
      },
      { id: "a", ts: 1, source: "m", rule: "price_jump", message: "m", ...provenance },
      { id: "a", ts: 1, source: "m", rule: "price_jump", severity: "LOUD", message: "m", ...provenance },
      { id: "a", ts: 1, source: "m", rule: "price_jump", message: "m", attributes: { k: 1 }, ...provenance },
      { id: "a", ts: 1, source: "m", rule: "r", message: "m", attributes: null, ...provenance },
      { id: "", ts: 1, source: "m", rule: "r", message: "m", ...provenance },
    ],
    insight: [
      {
        id: "i",
        ts: 1,
        symbols: ["BTC-USD"],
        source: "analyst",
        title: "t",
        summary: "s",
        confidence: 0.5,
        ...provenance,
      },
      { id: "i", ts: 1, source: "analyst", title: "t", summary: "s", alertId: null, ...provenance },
      { id: "i", ts: 1, symbols: [1], source: "analyst", title: "t", summary: "s", ...provenance },
      {
        id: "i",
        ts: 1,
        source: "analyst",
        title: "t",
        summary: "s",
        alertId: 5,
        ...provenance,
      },
    ],
  };
  for (const [kind, rows] of Object.entries(cases)) {
    const { schema, check } = tableKind(kind as "bar").rows;
    for (const raw of rows) {
      const parsed = schema.safeParse(raw);
      const checked = check(raw);
      assert.equal(checked.row !== undefined, parsed.success, `${kind}: ${JSON.stringify(raw)}`);
      if (parsed.success) assert.deepEqual(checked.row, parsed.data);
    }
  }
  assert.equal(
    tableKind("alert").rows.check(cases.alert![2]).error,
    'severity: Invalid option: expected one of "INFO"|"WARNING"|"CRITICAL"',
  );
});
