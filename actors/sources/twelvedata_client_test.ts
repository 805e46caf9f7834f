import assert from "node:assert/strict";
import { TwelveDataClient } from "./twelvedata_client.ts";
import type { MalformedPayloadError } from "./malformed_payload_error.ts";
import { startFakeTwelveData } from "../../tests/fakes/twelvedata_fake.ts";
import { MALFORMED, MemoryMetrics, UPSTREAM_REQUESTS } from "../shared/source_metrics.ts";
import { UpstreamError } from "../shared/upstream_error.ts";

const fast = { attempts: 3, initialMs: 5, maxMs: 20 };

Deno.test("twelvedata: time_series parses string numbers, UTC datetimes, oldest first, sends the key", async () => {
  const fake = startFakeTwelveData({ apiKey: "td" });
  try {
    const td = new TwelveDataClient({ apiKey: "td", baseUrl: fake.restUrl, metrics: new MemoryMetrics() });
    const bars = await td.timeSeries({ symbol: "BTC-USD", interval: "1min", outputsize: 5 });
    assert.equal(bars.length, 5);
    assert.deepEqual(bars[4], {
      symbol: "BTC-USD",
      source: "twelvedata",
      exchange: "NASDAQ",
      interval: "1m",
      ts: Date.UTC(2024, 0, 2, 15, 59),
      open: 185,
      high: 185.2,
      low: 184.8,
      close: 185.1,
      volume: 1000,
      trades: null,
    });
    assert.ok(bars.every((b, i) => i === 0 || b.ts - bars[i - 1]!.ts === 60_000));
    const [req] = fake.requests;
    assert.equal(req!.authorization, "apikey td");
    assert.deepEqual(
      { symbol: req!.params.symbol, timezone: req!.params.timezone, outputsize: req!.params.outputsize },
      { symbol: "BTC/USD", timezone: "UTC", outputsize: "5" },
    );
  } finally {
    await fake.close();
  }
});

Deno.test("twelvedata: quote and price become ticks", async () => {
  const fake = startFakeTwelveData();
  try {
    const td = new TwelveDataClient({ baseUrl: fake.restUrl, metrics: new MemoryMetrics() });
    assert.deepEqual(await td.quote("AAPL"), {
      symbol: "AAPL",
      source: "twelvedata",
      exchange: "NASDAQ",
      ts: 1704205800000,
      price: 185.64,
      bid: null,
      ask: null,
      volume: 82488700,
    });
    const p = await td.price("EUR-USD");
    assert.equal(p!.symbol, "EUR-USD");
    assert.equal(p!.price, 190.25);
    assert.equal(fake.requests[1]!.params.symbol, "EUR/USD");
  } finally {
    await fake.close();
  }
});

Deno.test("twelvedata: errors in HTTP 200 bodies are classified by their code", async () => {
  const fake = startFakeTwelveData({ apiKey: "right" });
  try {
    const metrics = new MemoryMetrics();
    const td = new TwelveDataClient({ apiKey: "right", baseUrl: fake.restUrl, metrics, retry: fast });
    fake.failNext("bad-request-400");
    await assert.rejects(
      td.price("AAPL"),
      (e) => e instanceof UpstreamError && e.kind === "bad_request" && e.status === 200 && e.code === 400,
    );
    fake.failNext("not-found-404");
    await assert.rejects(
      td.quote("NOPE"),
      (e) => e instanceof UpstreamError && e.kind === "bad_request" && /not found/.test(e.message),
    );
    assert.equal(fake.requests.length, 2, "bad requests are not retried");
    const wrong = new TwelveDataClient({ apiKey: "wrong", baseUrl: fake.restUrl, metrics, retry: fast });
    await assert.rejects(
      wrong.price("AAPL"),
      (e) => e instanceof UpstreamError && e.kind === "auth" && e.code === 401,
    );
    assert.equal(fake.requests.length, 3, "auth errors are not retried");
    fake.failNext("server-500");
    fake.failNext("http-502");
    assert.equal((await td.price("AAPL"))!.price, 190.25);
    assert.equal(fake.requests.length, 6, "500 in a body and 502 are retried");
    assert.equal(metrics.get(UPSTREAM_REQUESTS, { source: "twelvedata", status: "retriable" }), 2);
    assert.equal(metrics.get(UPSTREAM_REQUESTS, { source: "twelvedata", status: "auth" }), 1);
  } finally {
    await fake.close();
  }
});

Deno.test("twelvedata: errors with their real HTTP status are classified the same way", async () => {
  const fake = startFakeTwelveData({ errorsAsHttp200: false });
  try {
    const td = new TwelveDataClient({ baseUrl: fake.restUrl, metrics: new MemoryMetrics(), retry: fast });
    fake.failNext("bad-request-400");
    await assert.rejects(
      td.price("AAPL"),
      (e) => e instanceof UpstreamError && e.kind === "bad_request" && e.status === 400,
    );
  } finally {
    await fake.close();
  }
});

Deno.test("twelvedata: the credit limiter spreads requests so the budget is never exceeded", async () => {
  const fake = startFakeTwelveData({ creditsPerMinute: 4, creditWindowMs: 400 });
  try {
    const metrics = new MemoryMetrics();
    const td = new TwelveDataClient({
      baseUrl: fake.restUrl,
      metrics,
      creditsPerMinute: 4,
      creditWindowMs: 400,
    });
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, () => td.price("AAPL")));
    const elapsed = performance.now() - started;
    assert.equal(metrics.get(UPSTREAM_REQUESTS, { source: "twelvedata", status: "rate_limited" }), 0);
    assert.equal(metrics.get(UPSTREAM_REQUESTS, { source: "twelvedata", status: "ok" }), 8);
    assert.ok(elapsed >= 350 && elapsed < 2000, `8 credits at 4 per 400 ms took ${elapsed} ms`);
  } finally {
    await fake.close();
  }
});

Deno.test("twelvedata: out of credits (429) drains the limiter and retries in the next window", async () => {
  const fake = startFakeTwelveData({ creditsPerMinute: 2, creditWindowMs: 300 });
  try {
    const metrics = new MemoryMetrics();
    // The client believes in a bigger budget than the plan has: the upstream answers 429.
    const td = new TwelveDataClient({
      baseUrl: fake.restUrl,
      metrics,
      creditsPerMinute: 10,
      creditWindowMs: 300,
      retry: { attempts: 5, initialMs: 5 },
    });
    const prices = await Promise.all(Array.from({ length: 4 }, () => td.price("AAPL")));
    assert.ok(prices.every((p) => p?.price === 190.25));
    assert.ok(metrics.get(UPSTREAM_REQUESTS, { source: "twelvedata", status: "rate_limited" }) >= 1);
    assert.equal(metrics.get(UPSTREAM_REQUESTS, { source: "twelvedata", status: "ok" }), 4);
  } finally {
    await fake.close();
  }
});

Deno.test("twelvedata: a malformed value is counted, reported with its field and skipped", async () => {
  const fake = startFakeTwelveData();
  try {
    const metrics = new MemoryMetrics();
    const bad: MalformedPayloadError[] = [];
    const td = new TwelveDataClient({ baseUrl: fake.restUrl, metrics, onMalformed: (_r, e) => bad.push(e) });
    fake.failNext("malformed-values");
    const bars = await td.timeSeries({ symbol: "AAPL", interval: "1min", outputsize: 3 });
    assert.equal(bars.length, 2);
    assert.equal(
      bad[0]!.message,
      'twelvedata time_series values[0]: field close: expected a number or numeric string, got "n/a"',
    );
    assert.equal(metrics.get(MALFORMED, { source: "twelvedata" }), 1);
  } finally {
    await fake.close();
  }
});
