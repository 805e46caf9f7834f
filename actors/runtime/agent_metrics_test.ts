import assert from "node:assert/strict";
import { MetricBuffer } from "./agent_metrics.ts";

Deno.test("metric samples are buffered until drained", () => {
  const m = new MetricBuffer();
  m.inc("rows_total", { table: "ticks" }, 5);
  m.set("queue_depth", 3);
  m.observe("insert_seconds", 0.02);
  assert.equal(m.size, 3);
  assert.deepEqual(m.drain(), [
    { kind: "counter", name: "rows_total", labels: { table: "ticks" }, value: 5 },
    { kind: "gauge", name: "queue_depth", labels: {}, value: 3 },
    { kind: "histogram", name: "insert_seconds", labels: {}, value: 0.02 },
  ]);
  assert.equal(m.size, 0);
});

Deno.test("bad metric names and values are RangeErrors", () => {
  const m = new MetricBuffer();
  assert.throws(() => m.inc("Bad-Name"), RangeError);
  assert.throws(() => m.set("ok", Number.NaN), RangeError);
});
