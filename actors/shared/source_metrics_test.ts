import assert from "node:assert/strict";
import {
  MALFORMED,
  MemoryMetrics,
  registrySink,
  UPSTREAM_LATENCY,
  UPSTREAM_REQUESTS,
} from "./source_metrics.ts";
import { metricsText } from "../../core/metrics.ts";

Deno.test("source metrics: the registry sink writes the source families into /metrics", async () => {
  const sink = registrySink();
  sink.inc(UPSTREAM_REQUESTS, { source: "test-src", status: "rate_limited" });
  sink.inc(UPSTREAM_REQUESTS, { source: "test-src", status: "rate_limited" });
  sink.inc(MALFORMED, { source: "test-src" });
  sink.observe(UPSTREAM_LATENCY, 0.03, { source: "test-src" });
  const text = await metricsText();
  assert.match(text, /source_upstream_requests_total\{source="test-src",status="rate_limited"\} 2/);
  assert.match(text, /source_malformed_total\{source="test-src"\} 1/);
  assert.match(text, /source_upstream_latency_seconds_count\{source="test-src"\} 1/);
});

Deno.test("source metrics: the memory sink keys by name and labels", () => {
  const m = new MemoryMetrics();
  m.inc("x_total", { b: "2", a: "1" }, 3);
  assert.equal(m.get("x_total", { a: "1", b: "2" }), 3);
  assert.equal(m.get("x_total", { a: "1" }), 0);
});
