/**
 * `deno task bench monitor`: the market monitor's scorecard and throughput, no services needed.
 *
 * 1. Detection on seeded synthetic series with injected anomalies of each kind ({@linkcode score}):
 *    precision, recall and mean detection delay (in the symbol's ticks) per detector.
 * 2. Throughput: the same ticks through the `market-monitor` actor (a Worker, batches posted and acked as the
 *    dispatcher does, alerts published to a recorder) beside the same detectors in a plain loop on the main
 *    thread, in the same run; the ratio is the figure.
 *
 * @module
 */
import { ActorHandle } from "../../supervisor/actor_handle.ts";
import { MarketMonitor } from "../../actors/monitor/market_monitor.ts";
import { MonitorDetectorsConfig } from "../../actors/monitor/monitor_config.ts";
import type { AgentBatch } from "../../actors/runtime/agent_batch.ts";
import { recorder } from "../../actors/agents/_test_helpers.ts";
import { type DetectorScore, score, syntheticSeries } from "./monitor_scorecard.ts";

/** Options of {@linkcode monitorBench}. */
export interface MonitorBenchOptions {
  /** Ticks of the primary source in the scorecard series (the second source adds as many). */
  ticks: number;
  /** Seeds of the scorecard runs. */
  seeds: number[];
  /** Records per batch to the actor. */
  batch: number;
  progress?: (message: string) => void;
}

const PARTITIONS = 6;
const fmt = (x: number, d = 3) => Number.isNaN(x) ? "—" : x.toFixed(d);

/** Runs the bench and returns its report. */
export async function monitorBench(o: MonitorBenchOptions): Promise<string> {
  const lines: string[] = [];
  const totals = new Map<string, DetectorScore & { delaySum: number }>();
  let ticksScored = 0;
  for (const seed of o.seeds) {
    o.progress?.(`scorecard: seed ${seed}, ${o.ticks} ticks`);
    const series = syntheticSeries({ seed, ticks: o.ticks });
    ticksScored += series.ticks.length;
    const monitor = new MarketMonitor({ config: MonitorDetectorsConfig.parse({}), agent: "bench" });
    const alerts = series.ticks.flatMap((t, i) =>
      monitor.observe({
        ...t,
        volume: t.volume ?? null,
        ref: { topic: "market.ticks", partition: partitionOf(t.symbol), offset: String(i) },
      })
    );
    for (const s of score(series, alerts)) {
      const t = totals.get(s.detector) ??
        { ...s, injected: 0, detected: 0, falsePositives: 0, delaySum: 0 };
      t.injected += s.injected;
      t.detected += s.detected;
      t.falsePositives += s.falsePositives;
      t.delaySum += Number.isNaN(s.meanDelayTicks) ? 0 : s.meanDelayTicks * s.detected;
      totals.set(s.detector, t);
    }
  }
  lines.push(
    `Detection on seeded synthetic series (seeds ${
      o.seeds.join(", ")
    }; ${ticksScored} ticks, 5 symbols × 2 sources;`,
    `default detector parameters; a hit opens from the anomaly's first tick to 10 of the symbol's ticks after its end)`,
    "",
    "| detector | injected | detected | false positives | precision | recall | mean delay (ticks) |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const t of totals.values()) {
    const precision = t.detected / Math.max(1, t.detected + t.falsePositives);
    const recall = t.detected / Math.max(1, t.injected);
    lines.push(
      `| ${t.detector} | ${t.injected} | ${t.detected} | ${t.falsePositives} | ${fmt(precision)} | ${
        fmt(recall)
      } | ${fmt(t.detected ? t.delaySum / t.detected : NaN, 2)} |`,
    );
  }

  // Throughput: the same ticks, plain loop then actor.
  const series = syntheticSeries({ seed: o.seeds[0]!, ticks: o.ticks });
  const records = series.ticks.map((t, i) => ({
    topic: "market.ticks",
    partition: partitionOf(t.symbol),
    offset: String(i),
    key: null,
    headers: {},
    timestamp: t.ts,
    value: t,
  }));
  o.progress?.(`throughput: plain loop over ${records.length} ticks`);
  const plain = new MarketMonitor({ config: MonitorDetectorsConfig.parse({}), agent: "bench" });
  let t0 = performance.now();
  let plainAlerts = 0;
  for (const r of records) {
    plainAlerts += plain.observe({
      ...r.value,
      volume: r.value.volume ?? null,
      ref: { topic: r.topic, partition: r.partition, offset: r.offset },
    }).length;
  }
  const plainRate = records.length / ((performance.now() - t0) / 1000);

  o.progress?.(`throughput: market-monitor actor, batches of ${o.batch}`);
  const rec = recorder();
  const actor = await ActorHandle.start({
    path: "bench/market-monitor",
    module: new URL("../../actors/agents/market_monitor.ts", import.meta.url),
    config: { stateTopic: null },
    publish: rec.publish,
  });
  try {
    // One batch per partition at a time, in offset order (as the dispatcher delivers), all partitions in flight.
    const byPartition = new Map<number, typeof records>();
    for (const r of records) {
      const list = byPartition.get(r.partition) ?? [];
      list.push(r);
      byPartition.set(r.partition, list);
    }
    t0 = performance.now();
    let n = 0;
    await Promise.all([...byPartition.values()].map(async (list) => {
      for (let i = 0; i < list.length; i += o.batch) {
        const batch: AgentBatch = { id: `b${n++}`, records: list.slice(i, i + o.batch) };
        await actor.send(batch);
      }
    }));
    const actorRate = records.length / ((performance.now() - t0) / 1000);
    const actorAlerts = rec.records("market.alerts").length;
    lines.push(
      "",
      `Throughput (${records.length} ticks, ${PARTITIONS} partitions, batches of ${o.batch}; checkpoints off in both)`,
      "",
      "| path | ticks/s | alerts | ratio |",
      "|---|---:|---:|---:|",
      `| plain loop (same detectors, main thread) | ${Math.round(plainRate)} | ${plainAlerts} | 1.00 |`,
      `| market-monitor actor (Worker, batches acked) | ${Math.round(actorRate)} | ${actorAlerts} | ${
        fmt(actorRate / plainRate, 2)
      } |`,
    );
    if (actorAlerts !== plainAlerts) {
      lines.push("", `WARNING: the actor raised ${actorAlerts} alerts, the loop ${plainAlerts}`);
    }
  } finally {
    await actor.stop(5_000);
  }
  return lines.join("\n");
}

/** Partition of a symbol: a stable hash (the bench has no broker; only grouping matters). */
function partitionOf(symbol: string): number {
  let h = 0;
  for (const c of symbol) h = (h * 31 + c.charCodeAt(0)) | 0;
  return Math.abs(h) % PARTITIONS;
}
