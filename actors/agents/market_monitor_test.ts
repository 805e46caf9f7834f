/**
 * The market monitor as the pipeline runs it: a recorded file of seeded synthetic ticks with injected
 * anomalies → replay agent → ticks topic → `market-monitor` (and `bar-builder`) in their Workers → Avro alerts
 * and bars. Alerts of a run whose monitor is restarted mid-stream equal those of an uninterrupted run; a run on
 * Kafka gives the same alerts and bars as a run on the embedded log.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import avsc from "avsc";
import { readTopicToEnd } from "../../connector/read_topic_to_end.ts";
import { callTool, runId, startNode, testConfig, waitFor } from "../../tests/e2e/_pipeline_harness.ts";
import { needs, services } from "../../tests/service_env.ts";
import { syntheticSeries } from "../../tests/bench/monitor_scorecard.ts";
import { observationOf } from "./market_monitor.ts";

const alertType = avsc.Type.forSchema(
  JSON.parse(await Deno.readTextFile(new URL("../../schemas/market.alert/v2.avsc", import.meta.url))),
);
const barType = avsc.Type.forSchema(
  JSON.parse(await Deno.readTextFile(new URL("../../schemas/market.bar/v1.avsc", import.meta.url))),
);
const TOKEN = "monitor-test-admin";

/** A small recorded file: 3 000 ticks of 3 symbols from two sources, anomalies of every kind. */
async function recordedFile(dir: string): Promise<{ path: string; ticks: number }> {
  const series = syntheticSeries({
    seed: 11,
    ticks: 1_500,
    symbols: ["BTC-USD", "ETH-USD", "AAPL"],
    rate: 0.01,
  });
  const path = join(dir, "ticks.jsonl");
  await Deno.writeTextFile(path, series.ticks.map((t) => JSON.stringify(t)).join("\n") + "\n");
  return { path, ticks: series.ticks.length };
}

// deno-lint-ignore no-explicit-any
type Json = any;

interface RunResult {
  alerts: Json[];
  bars: Json[];
}

/**
 * Replays the file through a node and returns the distinct alerts (by id) and bars, sorted.
 * `restartAfter`: restart the monitor's actor once this many alerts are on the topic.
 */
async function run(
  file: { path: string; ticks: number },
  dataDir: string,
  env: Record<string, string | undefined>,
  options: { restartAfter?: number; speed: number },
): Promise<RunResult> {
  const id = runId();
  const ticks = `t.ticks.${id}`, alerts = `t.alerts.${id}`, state = `t.state.${id}`, bars = `t.bars.${id}`;
  const dlq = `t.dlq.${id}`;
  const config = testConfig(
    `
node: { name: monitor, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: ${dlq} }
topics:
  ${ticks}: { partitions: 3, schema: market.tick }
  ${alerts}: { partitions: 3, schema: market.alert }
  ${bars}: { partitions: 3, schema: market.bar }
  ${state}: { partitions: 1, cleanupPolicy: compact }
  ${dlq}: { partitions: 1 }
agents:
  synthetic: { kind: synthetic, enabled: false }
  postgres-sink: { kind: postgres-sink, enabled: false }
  replay:
    kind: replay
    restart: transient
    publish: [${ticks}, ${dlq}]
    config: { path: ${file.path}, speed: ${options.speed}, keepSource: true, topics: { tick: ${ticks} }, deadLetterTopic: ${dlq} }
  monitor:
    kind: market-monitor
    subscribe: { topics: [${ticks}], group: monitor.${id}, fromBeginning: true }
    publish: [${alerts}, ${state}, ${dlq}]
    batch: { maxRecords: 50, maxWaitMs: 20 }
    config: { topic: ${alerts}, stateTopic: ${state}, stateKey: monitor.${id}, deadLetterTopic: ${dlq} }
  bars:
    kind: bar-builder
    subscribe: { topics: [${ticks}], group: bars.${id}, fromBeginning: true }
    publish: [${bars}, ${dlq}]
    config: { intervals: [1m], allowedLatenessMs: 1000, topic: ${bars}, deadLetterTopic: ${dlq} }
mcp:
  tokens: [{ name: test, token: "\${MONITOR_TEST_TOKEN}", role: admin }]
`,
    { ...env, MONITOR_TEST_TOKEN: TOKEN },
  );
  const node = await startNode(config);
  try {
    const connector = node.pipeline.connector;
    const consumed = async (topic: string, group: string) => {
      const offsets = await connector.offsets(topic, group);
      return offsets.reduce((n, p) => n + Number(BigInt(p.committed ?? p.low) - BigInt(p.low)), 0);
    };
    if (options.restartAfter !== undefined) {
      await waitFor(`${options.restartAfter} alerts before the restart`, async () => {
        const n = (await connector.offsets(alerts)).reduce(
          (s, p) => s + Number(BigInt(p.high) - BigInt(p.low)),
          0,
        );
        return { done: n >= options.restartAfter!, seen: n };
      }, 60_000);
      const before = await consumed(ticks, `monitor.${id}`);
      assert.ok(before < file.ticks, `restarted mid-stream (${before} of ${file.ticks} ticks consumed)`);
      await callTool(node.url, TOKEN, "supervision.restart", { actor: "monitor-0" });
    }
    await waitFor("the monitor and the bar builder to consume every tick", async () => {
      const seen = {
        monitor: await consumed(ticks, `monitor.${id}`),
        bars: await consumed(ticks, `bars.${id}`),
      };
      return { done: seen.monitor >= file.ticks && seen.bars >= file.ticks, seen };
    }, 90_000);
    const decode = (type: avsc.Type, r: { value: Uint8Array | null }) =>
      type.fromBuffer(Buffer.from(r.value!.subarray(5))) as Record<string, unknown>;
    const byId = new Map<string, Record<string, unknown>>();
    for (const r of await readTopicToEnd(connector, alerts)) {
      const a = decode(alertType, r);
      const previous = byId.get(a.id as string);
      if (previous) assert.deepEqual(a, previous, `a redelivered alert ${a.id} is identical`);
      byId.set(a.id as string, a);
    }
    const barList = (await readTopicToEnd(connector, bars)).map((r) => decode(barType, r));
    const norm = (x: Record<string, unknown>) =>
      JSON.stringify(x, (_, v) => v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v)
        .replaceAll(`t.ticks.${id}`, "TICKS");
    return {
      alerts: [...byId.values()].map((a) => JSON.parse(norm(a))).sort((a, b) => a.id.localeCompare(b.id)),
      bars: barList.map((b) => JSON.parse(norm(b))).sort((a, b) =>
        `${a.symbol}/${a.source}/${a.ts}`.localeCompare(`${b.symbol}/${b.source}/${b.ts}`)
      ),
    };
  } finally {
    await node.stop();
  }
}

function digest(r: RunResult): Promise<string> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(r))).then((d) =>
    [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("")
  );
}

Deno.test("observationOf reads decoded ticks and names what is missing", () => {
  const rec = (value: unknown) => ({
    topic: "t",
    partition: 1,
    offset: "7",
    key: null,
    headers: {},
    timestamp: 0,
    value,
  });
  assert.deepEqual(observationOf(rec({ symbol: "A", source: "s", ts: new Date(5), price: 2, volume: 3 })), {
    symbol: "A",
    source: "s",
    ts: 5,
    price: 2,
    volume: 3,
    ref: { topic: "t", partition: 1, offset: "7" },
  });
  assert.equal(
    observationOf(rec({ symbol: "A", source: "s", ts: 1 })),
    "field price: expected a finite number",
  );
  assert.equal(observationOf(rec(null)), "expected a tick record, got null");
});

Deno.test({
  name:
    "market-monitor on the embedded log: a monitor restarted mid-stream resumes from its checkpoint and " +
    "publishes exactly the alerts of an uninterrupted run",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "qistream-monitor-" });
    try {
      const file = await recordedFile(dir);
      const straight = await run(file, join(dir, "a"), {}, { speed: 0 });
      assert.ok(straight.alerts.length >= 10, `the file raises alerts (${straight.alerts.length})`);
      const rules = new Set(straight.alerts.map((a) => a.rule));
      for (const rule of ["price_jump", "volume_spike", "stale_feed"]) {
        assert.ok(rules.has(rule), `${rule} fired (${[...rules]})`);
      }
      const open = straight.alerts.find((a) => a.status === "OPEN" && a.rule === "price_jump")!;
      assert.match(open.id, /^price_jump:[A-Z-]+:synthetic(-b)?@\d+#0$/);
      assert.ok(
        open.inputs.length === 2 && open.inputs[1].topic === "TICKS",
        "provenance: the input offsets",
      );
      assert.ok(
        Math.abs(open.observed.z) >= 8 && JSON.parse(open.parameters).threshold === 8,
        "values and params",
      );
      // Paced so that the restart lands mid-stream.
      const restarted = await run(file, join(dir, "b"), {}, { speed: 40, restartAfter: 4 });
      assert.deepEqual(restarted.alerts, straight.alerts);
      assert.deepEqual(restarted.bars, straight.bars);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "market-monitor: a replay on Kafka gives the same alerts and bars (digest) as on the embedded log " +
    "(needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL)",
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "qistream-monitor-kafka-" });
    try {
      const file = await recordedFile(dir);
      const embedded = await run(file, join(dir, "a"), {}, { speed: 0 });
      const kafka = await run(file, join(dir, "b"), {
        KAFKA_BROKERS: services.kafkaBrokers!.join(","),
        SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
      }, { speed: 0 });
      assert.ok(embedded.alerts.length >= 10 && embedded.bars.length >= 10);
      assert.equal(await digest(kafka), await digest(embedded));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
