import assert from "node:assert/strict";
import { type InjectedAnomaly, SyntheticMarket } from "./synthetic_market.ts";
import type { Tick } from "./market_record.ts";
import { MemoryMetrics, RECORDS_OUT } from "../shared/source_metrics.ts";

function take(market: SyntheticMarket, n: number): Tick[] {
  return Array.from({ length: n }, () => market.next());
}

Deno.test("synthetic market: the same seed gives the same ticks, another seed different ones", () => {
  const options = { seed: 123, startTs: 1_700_000_000_000, ratePerSecond: 50 };
  const a = take(new SyntheticMarket(options), 500);
  const b = take(new SyntheticMarket(options), 500);
  const c = take(new SyntheticMarket({ ...options, seed: 124 }), 500);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((t) => t.price), c.map((t) => t.price));
});

Deno.test("synthetic market: round-robin symbols, spread around the price, timestamps step by 1/rate", () => {
  const market = new SyntheticMarket({
    symbols: ["BTC-USD", { symbol: "AAPL", price: 200 }],
    seed: 1,
    startTs: 1000,
    ratePerSecond: 4,
    spreadBps: 10,
  });
  const ticks = take(market, 6);
  assert.deepEqual(ticks.map((t) => t.symbol), ["BTC-USD", "AAPL", "BTC-USD", "AAPL", "BTC-USD", "AAPL"]);
  assert.deepEqual(ticks.map((t) => t.ts), [1000, 1250, 1500, 1750, 2000, 2250]);
  for (const t of ticks) {
    assert.equal(t.source, "synthetic");
    assert.ok(t.bid! < t.price && t.price < t.ask!);
    assert.ok(Math.abs((t.ask! - t.bid!) / t.price - 0.001) < 1e-5);
  }
  assert.ok(Math.abs(ticks[1]!.price - 200) < 5);
});

Deno.test("synthetic market: log returns have the configured volatility", () => {
  const rate = 10;
  const sigma = 0.8;
  const market = new SyntheticMarket({
    symbols: ["X"],
    seed: 9,
    ratePerSecond: rate,
    volatility: sigma,
    drift: 0,
  });
  let last = market.next().price;
  let sum = 0;
  let sumSq = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const p = market.next().price;
    const r = Math.log(p / last);
    sum += r;
    sumSq += r * r;
    last = p;
  }
  const std = Math.sqrt(sumSq / n - (sum / n) ** 2);
  const expected = sigma * Math.sqrt(1 / rate / (365 * 24 * 3600));
  assert.ok(Math.abs(std / expected - 1) < 0.1, `std ${std} vs ${expected}`);
});

Deno.test("synthetic market: run paces at the configured rate and stops at maxTicks", async () => {
  const metrics = new MemoryMetrics();
  const market = new SyntheticMarket({ ratePerSecond: 200, maxTicks: 100, metrics });
  const seen: Tick[] = [];
  const started = performance.now();
  const n = await market.run((r) => {
    if (r.kind === "tick") seen.push(r.value);
  });
  const elapsed = performance.now() - started;
  assert.equal(n, 100);
  assert.equal(seen.length, 100);
  assert.ok(elapsed >= 400 && elapsed < 1500, `100 ticks at 200/s took ${elapsed} ms`);
  assert.equal(metrics.get(RECORDS_OUT, { source: "synthetic", kind: "tick" }), 100);
});

Deno.test("synthetic market: unpaced run is fast and stops on abort", async () => {
  const market = new SyntheticMarket({ ratePerSecond: 0 });
  const controller = new AbortController();
  let n = 0;
  const started = performance.now();
  const done = market.run(() => {
    if (++n === 200_000) controller.abort();
  }, controller.signal);
  assert.equal(await done, 200_000);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 3000, `200k ticks took ${elapsed} ms`);
});

Deno.test("synthetic anomalies: seeded (same seed, same anomalies), the walk unchanged at rate 0, a gap silences its symbol", () => {
  const make = (rate: number | undefined, log: InjectedAnomaly[] = []) =>
    new SyntheticMarket({
      seed: 9,
      ratePerSecond: 10,
      startTs: 0,
      symbols: ["A", "B"],
      ...(rate === undefined ? {} : { anomalies: { rate, gapTicks: 5 }, onAnomaly: (a) => log.push(a) }),
    });
  const ticks = (m: SyntheticMarket, n: number) => Array.from({ length: n }, () => m.next());
  assert.deepEqual(ticks(make(0), 500), ticks(make(undefined), 500));
  const first: InjectedAnomaly[] = [], second: InjectedAnomaly[] = [];
  const a = ticks(make(0.02, first), 3000);
  assert.deepEqual(ticks(make(0.02, second), 3000), a);
  assert.deepEqual(second, first);
  assert.deepEqual(new Set(first.map((x) => x.kind)), new Set(["jump", "volume", "gap", "volatility"]));
  const gap = first.find((x) => x.kind === "gap")!;
  const silent = a.filter((t) => t.symbol === gap.symbol && t.ts >= gap.ts && t.ts <= gap.endTs);
  assert.deepEqual(silent, [], `${gap.symbol} sends nothing from ${gap.ts} to ${gap.endTs}`);
  assert.ok(
    a.some((t) => t.symbol !== gap.symbol && t.ts >= gap.ts && t.ts <= gap.endTs),
    "the others go on",
  );
});
