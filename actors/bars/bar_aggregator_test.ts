import assert from "node:assert/strict";
import avsc from "avsc";
import { type Bar, BarAggregator, intervalMs, type PricePoint } from "./bar_aggregator.ts";

const BAR_SCHEMA = JSON.parse(
  await Deno.readTextFile(new URL("../../schemas/market.bar/v1.avsc", import.meta.url)),
);
const barType = avsc.Type.forSchema(BAR_SCHEMA);

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0); // aligned to every interval used here
const tick = (ts: number, price: number, extra: Partial<PricePoint> = {}): PricePoint => ({
  symbol: "BTC-USD",
  source: "synthetic",
  ts,
  price,
  ...extra,
});

function run(points: PricePoint[], intervals: string[], allowedLatenessMs = 0) {
  const agg = new BarAggregator({ intervals, allowedLatenessMs });
  const bars: Bar[] = [];
  let late = 0;
  for (const p of points) {
    const r = agg.add(p);
    if (r.late) late++;
    bars.push(...r.closed);
  }
  return { agg, bars, late };
}

Deno.test("intervalMs parses s/m/h/d and refuses anything else by name", () => {
  assert.equal(intervalMs("1s"), 1_000);
  assert.equal(intervalMs("5m"), 300_000);
  assert.equal(intervalMs("1h"), 3_600_000);
  assert.equal(intervalMs("1d"), 86_400_000);
  for (const bad of ["0m", "1x", "m", "1.5m", " 1m", "01m"]) {
    assert.throws(
      () => intervalMs(bad),
      (e: Error) => e instanceof RangeError && e.message.includes(`"${bad}"`),
    );
  }
});

Deno.test("a bar closes only when the watermark reaches its end, with correct OHLC", () => {
  const agg = new BarAggregator({ intervals: ["1s"], allowedLatenessMs: 0 });
  assert.deepEqual(agg.add(tick(T0 + 100, 10)).closed, []);
  assert.deepEqual(agg.add(tick(T0 + 200, 12)).closed, []);
  assert.deepEqual(agg.add(tick(T0 + 300, 9)).closed, []);
  assert.deepEqual(agg.add(tick(T0 + 999, 11)).closed, []);
  const r = agg.add(tick(T0 + 1_000, 20)); // watermark = end of the first bar
  assert.equal(r.late, false);
  assert.deepEqual(r.closed, [{
    symbol: "BTC-USD",
    source: "synthetic",
    exchange: null,
    interval: "1s",
    ts: T0,
    open: 10,
    high: 12,
    low: 9,
    close: 11,
    volume: 0,
    trades: null,
  }]);
  assert.equal(agg.openBars, 1);
});

Deno.test("allowed lateness delays closing, and an out-of-order price within it is folded in by event time", () => {
  const agg = new BarAggregator({ intervals: ["1s"], allowedLatenessMs: 500 });
  agg.add(tick(T0 + 200, 10));
  agg.add(tick(T0 + 800, 11));
  assert.deepEqual(agg.add(tick(T0 + 1_300, 30)).closed, [], "watermark 800 < 1000: still open");
  // Arrives after a price of the next bar, but within the lateness: earlier than the open, so it is the open.
  const early = agg.add(tick(T0 + 50, 5));
  assert.equal(early.late, false);
  assert.deepEqual(early.closed, []);
  const r = agg.add(tick(T0 + 1_500, 31)); // watermark 1000
  assert.equal(r.closed.length, 1);
  const bar = r.closed[0]!;
  assert.deepEqual([bar.open, bar.high, bar.low, bar.close], [5, 11, 5, 11]);
  assert.equal(agg.watermark("BTC-USD", "synthetic"), T0 + 1_000);
});

Deno.test("a price for a closed bar is late: counted, and no bar changes", () => {
  const { bars, late, agg } = run([
    tick(T0 + 100, 10),
    tick(T0 + 2_100, 12), // closes [T0, T0+1s) and [T0+1s, T0+2s) (empty: not emitted)
    tick(T0 + 900, 99), // late
    tick(T0 + 2_200, 13),
  ], ["1s"]);
  assert.equal(late, 1);
  assert.equal(bars.length, 1);
  assert.deepEqual([bars[0]!.open, bars[0]!.high, bars[0]!.close], [10, 10, 10]);
  const flushed = agg.flush();
  assert.deepEqual(flushed.map((b) => [b.ts, b.open, b.close]), [[T0 + 2_000, 12, 13]]);
  assert.equal(agg.add(tick(T0 + 2_300, 1)).late, true, "a flushed bar is closed too");
});

Deno.test("several intervals close independently; 1m bars roll up into the 5m bar", () => {
  const points: PricePoint[] = [];
  for (let i = 0; i < 6 * 60; i++) points.push(tick(T0 + i * 1_000 + 10, 100 + (i % 7), { size: 1 }));
  const { bars, agg } = run(points, ["1m", "5m"]);
  const oneMin = bars.filter((b) => b.interval === "1m");
  const fiveMin = bars.filter((b) => b.interval === "5m");
  assert.equal(oneMin.length, 5, "minute 6 is still open");
  assert.equal(fiveMin.length, 1);
  const five = fiveMin[0]!;
  assert.equal(five.ts, T0);
  assert.equal(five.open, oneMin[0]!.open);
  assert.equal(five.close, oneMin[4]!.close);
  assert.equal(five.high, Math.max(...oneMin.map((b) => b.high)));
  assert.equal(five.low, Math.min(...oneMin.map((b) => b.low)));
  assert.equal(five.volume, 300);
  assert.equal(five.trades, 300);
  assert.deepEqual(oneMin.map((b) => b.trades), [60, 60, 60, 60, 60]);
  assert.equal(agg.openBars, 2);
});

Deno.test("series are independent: another symbol's or source's time neither closes nor makes late", () => {
  const { bars, late } = run([
    tick(T0 + 100, 10),
    tick(T0 + 60_000, 1, { symbol: "ETH-USD" }), // far ahead, other symbol
    tick(T0 + 60_000, 1, { source: "replay" }), // far ahead, other source
    tick(T0 + 500, 11), // not late for BTC-USD/synthetic
  ], ["1s"]);
  assert.equal(late, 0);
  assert.deepEqual(bars, []);
});

Deno.test("determinism: the same input order gives byte-identical encoded bars, whatever interleaves", () => {
  const series = (symbol: string, seed: number): PricePoint[] => {
    const out: PricePoint[] = [];
    let x = seed;
    for (let i = 0; i < 500; i++) {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      const r = x / 2 ** 31;
      // jitter up to 1 s back in time: some within the lateness, some late
      const ts = T0 + i * 97 - Math.floor(r * 1_000);
      out.push(tick(ts, 100 + Math.floor(r * 1_000) / 100, { symbol, size: Math.floor(r * 10) / 4 }));
    }
    return out;
  };
  const a = series("BTC-USD", 7);
  const b = series("ETH-USD", 11);
  const encode = (bars: Bar[]) => bars.map((bar) => barType.toBuffer(bar).toString("hex"));
  const only = (bars: Bar[], symbol: string) => bars.filter((x) => x.symbol === symbol);

  const first = run([...a, ...b], ["1s", "5s"], 250);
  const again = run([...a, ...b], ["1s", "5s"], 250);
  const interleaved = run(a.flatMap((p, i) => [p, b[i]!]), ["1s", "5s"], 250);
  assert.ok(first.bars.length > 50, `expected many bars, got ${first.bars.length}`);
  assert.ok(first.late > 0, "the input has late prices");
  assert.deepEqual(encode(again.bars), encode(first.bars));
  assert.equal(again.late, first.late);
  for (const s of ["BTC-USD", "ETH-USD"]) {
    assert.deepEqual(encode(only(interleaved.bars, s)), encode(only(first.bars, s)));
  }
  assert.equal(interleaved.late, first.late);
});

Deno.test("bad options and bad prices are refused by name", () => {
  assert.throws(() => new BarAggregator({ intervals: [], allowedLatenessMs: 0 }), /at least one interval/);
  assert.throws(() => new BarAggregator({ intervals: ["1m", "1m"], allowedLatenessMs: 0 }), /Repeated/);
  assert.throws(() => new BarAggregator({ intervals: ["1m"], allowedLatenessMs: -1 }), /lateness -1/);
  const agg = new BarAggregator({ intervals: ["1m"], allowedLatenessMs: 0 });
  assert.throws(() => agg.add(tick(Number.NaN, 1)), /ts NaN/);
  assert.throws(() => agg.add(tick(T0, Number.POSITIVE_INFINITY)), /price Infinity/);
  assert.throws(() => agg.add(tick(T0, 1, { size: -1 })), /size -1/);
  assert.equal(agg.openBars, 0, "a refused price opens nothing");
});
