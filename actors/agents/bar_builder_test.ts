/**
 * The bar builder as the pipeline runs it: replayed ticks on the embedded log → the `bar-builder` agent in its
 * Worker → Avro bars on the bars topic (decoded here with `market.bar` v1) and late ticks on the dead-letter
 * topic.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import avsc from "avsc";
import type { ConsumedRecord } from "../../connector/types.ts";
import { runId, startNode, testConfig, waitFor } from "../../tests/e2e/_pipeline_harness.ts";
import { pricePoint } from "./bar_builder.ts";

const barType = avsc.Type.forSchema(
  JSON.parse(await Deno.readTextFile(new URL("../../schemas/market.bar/v1.avsc", import.meta.url))),
);

const T0 = Date.UTC(2026, 0, 1);
const TICKS: [string, number, number][] = [
  ["BTC-USD", 100, 10],
  ["ETH-USD", 100, 1],
  ["BTC-USD", 400, 12],
  ["BTC-USD", 700, 9],
  ["BTC-USD", 1_200, 11],
  ["BTC-USD", 900, 13], // out of order, within the 500 ms lateness: the first bar's close
  ["BTC-USD", 1_800, 14], // watermark 1300: closes BTC 1s@0
  ["BTC-USD", 600, 99], // late: its bar is closed → dead letter
  ["ETH-USD", 3_000, 2], // watermark 2500: closes ETH 1s@0
  ["BTC-USD", 5_600, 15], // watermark 5100: closes BTC 1s@1000 and 5s@0
];

Deno.test("pricePoint reads decoded ticks and trades and names what is missing", () => {
  assert.deepEqual(pricePoint({ symbol: "A", source: "s", ts: new Date(5), price: 1, exchange: "X" }), {
    symbol: "A",
    source: "s",
    exchange: "X",
    ts: 5,
    price: 1,
    size: null,
  });
  assert.equal(
    (pricePoint({ symbol: "A", source: "s", ts: 5n, price: 1, size: 2 }) as { size: number }).size,
    2,
  );
  assert.equal(pricePoint(null), "expected a tick or trade record, got null");
  assert.equal(pricePoint({ symbol: "A", source: "s", ts: 1 }), "field price: expected a finite number");
  assert.equal(pricePoint({ symbol: "A", source: "s", price: 1 }), "field ts: expected a finite timestamp");
});

Deno.test({
  name: "bar-builder on the embedded log: ticks in, watermark-closed OHLCV bars out on the bars topic, " +
    "late tick dead-lettered",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-bars-" });
    const file = join(dataDir, "ticks.jsonl");
    await Deno.writeTextFile(
      file,
      TICKS.map(([symbol, dt, price]) => JSON.stringify({ symbol, source: "synthetic", ts: T0 + dt, price }))
        .join("\n") + "\n",
    );
    const ticks = `t.ticks.${id}`, bars = `t.bars.${id}`, dlq = `t.dlq.${id}`;
    const config = testConfig(
      `
node: { name: bars, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: ${dlq} }
topics:
  ${ticks}: { partitions: 3, schema: market.tick }
  ${bars}: { partitions: 3, schema: market.bar }
  ${dlq}: { partitions: 1 }
agents:
  synthetic: { kind: synthetic, enabled: false }
  replay:
    kind: replay
    restart: transient
    publish: [${ticks}, ${dlq}]
    config: { path: ${file}, speed: 0, keepSource: true, topics: { tick: ${ticks} }, deadLetterTopic: ${dlq} }
  bars:
    kind: bar-builder
    subscribe: { topics: [${ticks}], group: bars.${id}, fromBeginning: true }
    publish: [${bars}, ${dlq}]
    config: { intervals: [1s, 5s], allowedLatenessMs: 500, topic: ${bars}, deadLetterTopic: ${dlq} }
`,
      {},
    );
    const node = await startNode(config);
    const seen: ConsumedRecord[] = [];
    const sub = await node.pipeline.connector.subscribe({
      group: `reader.${id}`,
      topics: [bars, dlq],
      fromBeginning: true,
      onBatch: (b) => void seen.push(...b.records),
    });
    try {
      const of = (topic: string) => seen.filter((r) => r.topic === topic);
      await waitFor("4 bars and 1 dead letter", () => {
        const counts = { bars: of(bars).length, dlq: of(dlq).length };
        return Promise.resolve({ done: counts.bars >= 4 && counts.dlq >= 1, seen: counts });
      }, 90_000);
      const decoded = of(bars).map((r) => {
        assert.equal(r.value![0], 0, "Confluent wire format magic byte");
        const bar = barType.fromBuffer(Buffer.from(r.value!.subarray(5))) as Record<string, unknown>;
        assert.equal(new TextDecoder().decode(r.key!), bar.symbol, "keyed by symbol");
        return bar;
      });
      const ohlcv = (
        b: Record<string, unknown>,
      ) => [b.symbol, b.interval, Number(b.ts) - T0, b.open, b.high, b.low, b.close, b.volume, b.trades];
      assert.deepEqual(
        decoded.map(ohlcv).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        [
          ["BTC-USD", "1s", 0, 10, 13, 9, 13, 0, null],
          ["BTC-USD", "1s", 1_000, 11, 14, 11, 14, 0, null],
          ["BTC-USD", "5s", 0, 10, 14, 9, 14, 0, null],
          ["ETH-USD", "1s", 0, 1, 1, 1, 1, 0, null],
        ],
      );
      const [letter] = of(dlq);
      assert.equal(letter!.headers["dlq.stage"], "bar.late");
      assert.equal(letter!.headers["dlq.source.topic"], ticks);
      assert.match(
        letter!.headers["dlq.error.message"]!,
        /BTC-USD\/synthetic price at 2026-01-01T00:00:00.600Z/,
      );
      assert.equal(JSON.parse(new TextDecoder().decode(letter!.value!)).price, 99);
    } finally {
      await sub.close();
      await node.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
