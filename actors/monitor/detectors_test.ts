import assert from "node:assert/strict";
import type { Observation } from "./detector.ts";
import * as priceJump from "./price_jump.ts";
import * as volatilityRegime from "./volatility_regime.ts";
import * as volumeSpike from "./volume_spike.ts";
import * as staleFeed from "./stale_feed.ts";
import * as divergence from "./source_divergence.ts";
import { isOpen, MARKET_HOURS_PRESETS, staleInstant } from "./market_hours.ts";
import { SeededRandom } from "../sources/seeded_random.ts";

const T0 = Date.UTC(2026, 0, 5, 15, 0); // a Monday, 10:00 in New York
let offset = 0;
const obs = (ts: number, price: number, extra: Partial<Observation> = {}): Observation => ({
  symbol: "X",
  source: "s",
  ts,
  price,
  volume: null,
  ref: { topic: "t", partition: 0, offset: String(offset++) },
  ...extra,
});

/** A GBM-like walk: `n` ticks 100 ms apart with per-tick σ. */
function walk(n: number, sigma: number, seed = 1): number[] {
  const rng = new SeededRandom(seed);
  let p = 100;
  return Array.from({ length: n }, () => p *= Math.exp(sigma * rng.normal()));
}

Deno.test("price_jump: silent on a random walk, fires on a 1 % jump with its z, inputs and values, once", () => {
  const p = priceJump.PriceJumpParams.parse({});
  const s = priceJump.initial();
  const prices = walk(500, 1e-4);
  const fired: number[] = [];
  prices.forEach((price, i) => {
    const jumped = i >= 300 ? price * 1.01 : price;
    const signal = priceJump.step(s, obs(T0 + i * 100, jumped), p);
    if (i < p.minSamples) assert.equal(signal, undefined, "silent while warming up");
    if (signal?.firing) fired.push(i);
    if (i === 300) {
      assert.ok(signal!.value > 50, `z of a 100σ jump: ${signal!.value}`);
      assert.equal(signal!.severity, "CRITICAL");
      assert.equal(signal!.inputs.length, 2);
      assert.ok(Math.abs(signal!.observed.return! - Math.log(1.01)) < 5e-4);
    }
  });
  assert.deepEqual(fired, [300]);
});

Deno.test("price_jump: a return over a long gap is scaled by √(gap/typical) — a stall is no jump", () => {
  const p = priceJump.PriceJumpParams.parse({});
  const s = priceJump.initial();
  const rng = new SeededRandom(2);
  let price = 100, ts = T0;
  for (let i = 0; i < 200; i++) priceJump.step(s, obs(ts += 100, price *= Math.exp(1e-4 * rng.normal())), p);
  // 100 ticks' worth of movement after a 10 s silence: ≈ 10σ raw, ≈ 1σ once scaled.
  const signal = priceJump.step(s, obs(ts += 10_000, price * Math.exp(10 * 1e-4)), p)!;
  assert.equal(signal.firing, false, `z ${signal.value}`);
});

Deno.test("volatility_regime: enters when σ quadruples, not on one jump, and leaves with hysteresis", () => {
  const p = volatilityRegime.VolatilityRegimeParams.parse({});
  const s = volatilityRegime.initial();
  const rng = new SeededRandom(3);
  let price = 100, ts = T0;
  const states: boolean[] = [];
  const tick = (sigma: number, shock = 0) => {
    price *= Math.exp(sigma * rng.normal() + shock);
    states.push(volatilityRegime.step(s, obs(ts += 100, price), p)?.firing ?? false);
  };
  for (let i = 0; i < 600; i++) tick(1e-4);
  tick(1e-4, 0.05); // one 5 % jump
  for (let i = 0; i < 100; i++) tick(1e-4);
  assert.ok(!states.includes(true), "a single jump is not a regime");
  for (let i = 0; i < 200; i++) tick(4e-4);
  const entered = states.indexOf(true);
  assert.ok(entered > 701 && entered < 701 + 30, `entered ${entered - 701} ticks into the regime`);
  for (let i = 0; i < 400; i++) tick(1e-4);
  assert.equal(states.at(-1), false, "left after the regime");
  const flips = states.slice(entered).filter((x, i, a) => i > 0 && x !== a[i - 1]).length;
  assert.equal(flips, 1, "no flapping: one exit");
});

Deno.test("volume_spike: fires on a 20× increase, not on a stall's accumulated volume nor on a window roll-over", () => {
  const p = volumeSpike.VolumeSpikeParams.parse({});
  const s = volumeSpike.initial();
  const rng = new SeededRandom(4);
  let v = 0, ts = T0;
  const step = (dv: number, dt = 100) => volumeSpike.step(s, obs(ts += dt, 100, { volume: v += dv }), p);
  for (let i = 0; i < 100; i++) step(0.5 + rng.next());
  assert.equal(step(20)?.firing, true);
  for (let i = 0; i < 20; i++) step(0.5 + rng.next());
  assert.equal(step(40, 4_000)?.firing, false, "40 ticks' volume after 40 ticks of silence");
  v = 0;
  assert.equal(
    volumeSpike.step(s, obs(ts += 100, 100, { volume: 0 }), p),
    undefined,
    "a decrease is skipped",
  );
});

Deno.test("stale_feed: opens at last tick + 4 typical gaps, resolves at the next tick, same alert by clock or by tick", () => {
  const p = staleFeed.StaleFeedParams.parse({ minGapMs: 0 });
  const run = (byClock: boolean) => {
    const s = staleFeed.initial();
    let ts = T0;
    for (let i = 0; i < 30; i++) staleFeed.step(s, obs(ts += 500, 1), p);
    const last = ts;
    const signals = [];
    if (byClock) {
      assert.equal(staleFeed.check(s, last + 1_999, { symbol: "X", source: "s" }, p), undefined);
      signals.push(staleFeed.check(s, last + 2_500, { symbol: "X", source: "s" }, p)!);
    }
    signals.push(...staleFeed.step(s, obs(last + 6_000, 1), p));
    return { last, signals };
  };
  const clock = run(true), tick = run(false);
  assert.deepEqual(clock.signals.map((x) => [x.firing, x.ts - clock.last]), [[true, 2_000], [false, 6_000]]);
  assert.deepEqual(
    tick.signals.map((x) => ({ ...x, inputs: x.inputs.length })),
    clock.signals.map((x) => ({ ...x, inputs: x.inputs.length })),
  );
  assert.equal(staleFeed.thresholdMs(staleFeed.initial(), p), undefined, "learning: no threshold yet");
});

Deno.test("market hours: US equities are closed at night and on weekends; the stale clock skips closed time", () => {
  const us = MARKET_HOURS_PRESETS["us-equities"]!;
  assert.equal(isOpen(us, T0), true);
  assert.equal(isOpen(us, Date.UTC(2026, 0, 5, 21, 30)), false, "16:30 in New York");
  assert.equal(isOpen(us, Date.UTC(2026, 0, 10, 15, 0)), false, "Saturday");
  const friClose = Date.UTC(2026, 0, 9, 20, 59, 30); // Friday 15:59:30 in New York
  // 60 s of open time from 30 s before Friday's close: 30 s on Friday, 30 s after Monday's 09:30 open.
  assert.equal(staleInstant(us, friClose, 60_000), Date.UTC(2026, 0, 12, 14, 30, 30));
  assert.equal(staleInstant(null, 5, 10), 15);
});

Deno.test("source_divergence: fires after minTicks diverging comparisons, clears after as many calm ones, ignores old quotes", () => {
  const p = divergence.SourceDivergenceParams.parse({});
  const s = divergence.initial();
  const step = (source: string, ts: number, price: number) =>
    divergence.step(s, obs(ts, price, { source }), p).map((x) => x.signal!.firing);
  assert.deepEqual(step("a", T0, 100), [], "nothing to compare yet");
  assert.deepEqual(step("b", T0 + 10, 100.01), [false]);
  assert.deepEqual(step("b", T0 + 20, 101), [false], "one diverging tick is not enough");
  assert.deepEqual(step("a", T0 + 30, 100), [true]);
  assert.deepEqual(step("b", T0 + 40, 100), [true]);
  assert.deepEqual(step("a", T0 + 50, 100), [false]);
  assert.deepEqual(step("b", T0 + 60_000, 200), [], "a quote older than maxAgeMs is not compared");
  assert.equal(divergence.pairOf("b", "a"), "a|b");
});
