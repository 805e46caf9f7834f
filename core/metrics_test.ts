import assert from "node:assert/strict";
import {
  counter,
  enableDefaultMetrics,
  gauge,
  histogram,
  METRICS_CONTENT_TYPE,
  metricsText,
} from "./metrics.ts";

Deno.test("get-or-create returns the same metric and never double-registers", async () => {
  const a = counter({ name: "test_records_total", help: "records", labelNames: ["agent"] });
  const b = counter({ name: "test_records_total", help: "records", labelNames: ["agent"] });
  assert.equal(a, b);
  a.inc({ agent: "sink" }, 3);
  b.inc({ agent: "sink" });
  const text = await metricsText();
  assert.match(text, /# TYPE test_records_total counter/);
  assert.match(text, /test_records_total\{agent="sink"\} 4/);
});

Deno.test("a name reused with another type or labels is a TypeError", () => {
  gauge({ name: "test_depth", help: "depth", labelNames: ["actor"] });
  assert.throws(() => counter({ name: "test_depth", help: "x" }), TypeError);
  assert.throws(() => gauge({ name: "test_depth", help: "depth", labelNames: ["agent"] }), /labels/);
});

Deno.test("histograms expose buckets", async () => {
  const h = histogram({ name: "test_batch_seconds", help: "batch", buckets: [0.01, 0.1, 1] });
  h.observe(0.05);
  const text = await metricsText();
  assert.match(text, /test_batch_seconds_bucket\{le="0.1"\} 1/);
  assert.match(text, /test_batch_seconds_count 1/);
});

Deno.test("default process metrics work under Deno, without the NaN event-loop gauges", async () => {
  assert.equal(enableDefaultMetrics(), true);
  assert.equal(enableDefaultMetrics(), true);
  const text = await metricsText();
  assert.match(text, /process_resident_memory_bytes \d+/);
  assert.doesNotMatch(text, /nodejs_eventloop_lag/);
  assert.doesNotMatch(text, / NaN$/im);
  assert.match(METRICS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
});
