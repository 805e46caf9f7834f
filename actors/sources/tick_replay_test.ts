import assert from "node:assert/strict";
import { replayTicks } from "./tick_replay.ts";
import type { Tick } from "./market_record.ts";
import type { MalformedPayloadError } from "./malformed_payload_error.ts";
import { sampleText } from "./_gen_sample_ticks.ts";
import { MALFORMED, MemoryMetrics } from "../shared/source_metrics.ts";

const SAMPLE = new URL("./sample_ticks.jsonl", import.meta.url);

async function collect(options: Omit<Parameters<typeof replayTicks>[0], "onRecord">): Promise<Tick[]> {
  const out: Tick[] = [];
  await replayTicks({ ...options, onRecord: (r) => void (r.kind === "tick" && out.push(r.value)) });
  return out;
}

Deno.test("replay: the shipped sample is the synthetic market with seed 7 and replays fast in full", async () => {
  assert.equal(await Deno.readTextFile(SAMPLE), sampleText());
  const started = performance.now();
  const ticks = await collect({ path: SAMPLE, speed: 0 });
  assert.ok(performance.now() - started < 1000);
  assert.equal(ticks.length, 300);
  assert.ok(ticks.every((t) => t.source === "replay"));
  assert.equal(ticks[0]!.symbol, "BTC-USD");
  assert.equal(ticks[299]!.ts - ticks[0]!.ts, 29_900);
});

Deno.test("replay: N× speed follows the records' timestamps", async () => {
  // The first 21 ticks span 2 s of record time; at 10× that is ~200 ms.
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ticks.jsonl`;
  await Deno.writeTextFile(path, (await Deno.readTextFile(SAMPLE)).split("\n").slice(0, 21).join("\n"));
  const arrivals: number[] = [];
  const started = performance.now();
  await replayTicks({ path, speed: 10, onRecord: () => void arrivals.push(performance.now() - started) });
  assert.equal(arrivals.length, 21);
  const total = arrivals[20]!;
  assert.ok(total >= 190 && total < 450, `took ${total} ms`);
  assert.ok(arrivals[10]! >= 90 && arrivals[10]! < 300, `middle at ${arrivals[10]} ms`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("replay: CSV with empty cells, malformed lines counted and reported with their line", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ticks.csv`;
  await Deno.writeTextFile(
    path,
    [
      "symbol,source,exchange,ts,price,bid,ask,volume",
      "AAPL,twelvedata,NASDAQ,1704207600000,190.5,,,",
      "AAPL,twelvedata,NASDAQ,1704207601000,abc,,,",
      "BTC-USD,cryptocompare,,1704207602000,65000,64999,65001,12.5",
    ].join("\n"),
  );
  const metrics = new MemoryMetrics();
  const bad: MalformedPayloadError[] = [];
  const ticks = await collect({
    path,
    speed: 0,
    keepSource: true,
    metrics,
    onMalformed: (_raw, e) => bad.push(e),
  });
  assert.deepEqual(ticks, [
    {
      symbol: "AAPL",
      source: "twelvedata",
      exchange: "NASDAQ",
      ts: 1704207600000,
      price: 190.5,
      bid: null,
      ask: null,
      volume: null,
    },
    {
      symbol: "BTC-USD",
      source: "cryptocompare",
      exchange: null,
      ts: 1704207602000,
      price: 65000,
      bid: 64999,
      ask: 65001,
      volume: 12.5,
    },
  ]);
  assert.equal(bad.length, 1);
  assert.match(bad[0]!.message, /line 3: field price: expected number, got "abc"/);
  assert.equal(metrics.get(MALFORMED, { source: "replay" }), 1);
  await Deno.remove(dir, { recursive: true });
});
