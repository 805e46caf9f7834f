import assert from "node:assert/strict";
import { CryptoCompareHistory } from "./cryptocompare_history.ts";
import type { MalformedPayloadError } from "./malformed_payload_error.ts";
import { startFakeCryptoCompare } from "../../tests/fakes/cryptocompare_fake.ts";
import { CircuitBreaker, CircuitOpenError } from "../shared/circuit_breaker.ts";
import { MALFORMED, MemoryMetrics, UPSTREAM_REQUESTS } from "../shared/source_metrics.ts";
import { UpstreamError } from "../shared/upstream_error.ts";

const BTC = { fsym: "BTC", tsym: "USD", unit: "hour" } as const;
const fast = { attempts: 3, initialMs: 5, maxMs: 20 };

Deno.test("cryptocompare history: backfill pages backwards with toTs, sends the key, no duplicates", async () => {
  const fake = startFakeCryptoCompare({ apiKey: "k1", now: 1_700_000_000 });
  try {
    const metrics = new MemoryMetrics();
    const history = new CryptoCompareHistory({ apiKey: "k1", baseUrl: fake.restUrl, metrics });
    const bars = await history.backfill(BTC, 4500);
    assert.equal(bars.length, 4500);
    const times = bars.map((b) => b.ts);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.equal(new Set(times).size, 4500);
    assert.ok(times.every((t, i) => i === 0 || t - times[i - 1]! === 3_600_000), "contiguous hourly bars");
    assert.equal(times[4499], Math.floor(1_700_000_000 / 3600) * 3600 * 1000);
    assert.deepEqual(fake.requests.map((r) => r.path), Array(3).fill("/data/v2/histohour"));
    assert.equal(fake.requests[0]!.params.toTs, undefined);
    assert.equal(Number(fake.requests[1]!.params.toTs), times[4500 - 2001]! / 1000 - 1);
    assert.ok(fake.requests.every((r) => r.authorization === "Apikey k1" && r.params.e === "CCCAGG"));
    assert.deepEqual(bars[0]!.symbol, "BTC-USD");
    assert.equal(bars[0]!.interval, "1h");
    assert.equal(metrics.get(UPSTREAM_REQUESTS, { source: "cryptocompare", status: "ok" }), 3);
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare history: backfill stops at the listing date (zero bars are padding)", async () => {
  const fake = startFakeCryptoCompare({ now: 1_700_000_000, listedAt: 1_700_000_000 - 100 * 86400 });
  try {
    const history = new CryptoCompareHistory({ baseUrl: fake.restUrl, metrics: new MemoryMetrics() });
    const bars = await history.backfill({ ...BTC, unit: "day" }, 5000);
    assert.equal(bars.length, 100);
    assert.ok(bars.every((b) => b.open > 0));
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare history: HTTP 200 Response Error over the rate limit is rate_limited with a wait", async () => {
  const fake = startFakeCryptoCompare();
  try {
    const metrics = new MemoryMetrics();
    fake.failNext("legacy-rate-limit");
    const history = new CryptoCompareHistory({ baseUrl: fake.restUrl, metrics, retry: { attempts: 1 } });
    await assert.rejects(history.page(BTC, 10), (e) => {
      assert.ok(e instanceof UpstreamError);
      assert.equal(e.kind, "rate_limited");
      assert.equal(e.retriable, true);
      assert.equal(e.status, 200);
      assert.ok(e.retryAfterMs! > 0 && e.retryAfterMs! <= 60_000);
      assert.match(e.message, /over your rate limit/);
      return true;
    });
    assert.equal(metrics.get(UPSTREAM_REQUESTS, { source: "cryptocompare", status: "rate_limited" }), 1);
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare history: HTTP 200 Response Error for a bad parameter is bad_request, not retried", async () => {
  const fake = startFakeCryptoCompare();
  try {
    fake.failNext("legacy-bad-request");
    const history = new CryptoCompareHistory({
      baseUrl: fake.restUrl,
      metrics: new MemoryMetrics(),
      retry: fast,
    });
    await assert.rejects(
      history.page(BTC, 10),
      (e) =>
        e instanceof UpstreamError && e.kind === "bad_request" && !e.retriable &&
        /fsym param is invalid/.test(e.message),
    );
    assert.equal(fake.requests.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare history: HTTP 401 with Err is auth, not retried; a wrong key too", async () => {
  const fake = startFakeCryptoCompare({ apiKey: "good" });
  try {
    const history = new CryptoCompareHistory({
      apiKey: "bad",
      baseUrl: fake.restUrl,
      metrics: new MemoryMetrics(),
      retry: fast,
    });
    await assert.rejects(
      history.page(BTC, 10),
      (e) =>
        e instanceof UpstreamError && e.kind === "auth" && e.status === 401 &&
        /valid auth key/.test(e.message),
    );
    assert.equal(fake.requests.length, 1);
    const good = new CryptoCompareHistory({
      apiKey: "good",
      baseUrl: fake.restUrl,
      metrics: new MemoryMetrics(),
      retry: fast,
    });
    fake.failNext("err-401");
    await assert.rejects(good.page(BTC, 10), (e) => e instanceof UpstreamError && e.kind === "auth");
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare history: 429 Err and HTTP 500 are retried, then succeed", async () => {
  const fake = startFakeCryptoCompare();
  try {
    fake.failNext("err-429");
    fake.failNext("http-500");
    const history = new CryptoCompareHistory({
      baseUrl: fake.restUrl,
      metrics: new MemoryMetrics(),
      retry: fast,
    });
    const started = performance.now();
    const bars = await history.page(BTC, 10);
    assert.equal(bars.length, 11);
    assert.equal(fake.requests.length, 3);
    assert.ok(performance.now() - started < 3000);
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare history: a malformed bar is counted, reported with its field and skipped", async () => {
  const fake = startFakeCryptoCompare();
  try {
    fake.failNext("malformed-bar");
    const metrics = new MemoryMetrics();
    const bad: MalformedPayloadError[] = [];
    const history = new CryptoCompareHistory({
      baseUrl: fake.restUrl,
      metrics,
      onMalformed: (_r, e) => bad.push(e),
    });
    const bars = await history.page(BTC, 10);
    assert.equal(bars.length, 10);
    assert.equal(bad.length, 1);
    assert.equal(
      bad[0]!.message,
      'cryptocompare history bar Data.Data[10]: field close: expected number, got "abc"',
    );
    assert.equal(metrics.get(MALFORMED, { source: "cryptocompare" }), 1);
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare history: the circuit opens after repeated failures and fails fast", async () => {
  const fake = startFakeCryptoCompare();
  try {
    fake.failNext("http-500", 10);
    const breaker = new CircuitBreaker({ name: "cryptocompare", failureThreshold: 3, openMs: 60_000 });
    const history = new CryptoCompareHistory({
      baseUrl: fake.restUrl,
      metrics: new MemoryMetrics(),
      breaker,
      retry: { attempts: 1 },
    });
    for (let i = 0; i < 3; i++) await assert.rejects(history.page(BTC, 10), UpstreamError);
    await assert.rejects(history.page(BTC, 10), CircuitOpenError);
    assert.equal(fake.requests.length, 3);
    assert.equal(breaker.state, "open");
  } finally {
    await fake.close();
  }
});
