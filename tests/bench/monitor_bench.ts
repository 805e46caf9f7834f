/**
 * `deno task bench monitor`: the market monitor's scorecard and throughput, no services needed.
 *
 * 1. Detection on seeded synthetic series with injected anomalies of each kind ({@linkcode score}):
 *    precision, recall and mean detection delay (in the symbol's ticks) per detector.
 * 2. Real labelled series (TCPD bitcoin and apple from the `river` wheel, fetched with pip at bench time),
 *    replayed through the pipeline and scored as TCPDBench does (F1, margin 5), see monitor_tcpd.ts.
 * 3. Throughput: the same ticks through the `market-monitor` actor (a Worker, batches posted and acked as the
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
import type { DeliveredRecord } from "../../actors/runtime/agent_record.ts";
import type { Tick } from "../../actors/sources/market_record.ts";
import { EmbeddedConnector } from "../../connector/embedded/embedded_connector.ts";
import { serveActorTools } from "../../tools/actor_tool_port.ts";
import { streamTools } from "../../tools/stream_tools.ts";
import { type DetectorScore, score, syntheticSeries } from "./monitor_scorecard.ts";
import {
  DAILY_DETECTORS,
  fMeasure,
  loadTcpd,
  MARGIN,
  meanDelay,
  replaySeries,
  RIVER_VERSION,
} from "./monitor_tcpd.ts";

/** Options of {@linkcode monitorBench}. */
export interface MonitorBenchOptions {
  /** Ticks of the primary source in the scorecard series (the second source adds as many). */
  ticks: number;
  /** Seeds of the scorecard runs. */
  seeds: number[];
  /** Records per batch to the actor. */
  batch: number;
  /** Where the river wheel is cached; the TCPD part is skipped when undefined. */
  cacheDir?: string;
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

  if (o.cacheDir) lines.push("", ...await tcpdPart(o.cacheDir, o.progress));

  // Throughput: the same ticks, plain loop then actor.
  const series = syntheticSeries({ seed: o.seeds[0]!, ticks: o.ticks });
  const records: BenchRecord[] = series.ticks.map((t, i) => ({
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
  const t0 = performance.now();
  let plainAlerts = 0;
  for (const r of records) {
    plainAlerts += plain.observe({
      ...r.value,
      volume: r.value.volume ?? null,
      ref: { topic: r.topic, partition: r.partition, offset: r.offset },
    }).length;
  }
  const plainRate = records.length / ((performance.now() - t0) / 1000);

  lines.push(
    "",
    `Throughput (${records.length} ticks, ${PARTITIONS} partitions, batches of ${o.batch})`,
    "",
    "| path | ticks/s | alerts | ratio |",
    "|---|---:|---:|---:|",
    `| plain loop (same detectors, main thread, no checkpoints) | ${
      Math.round(plainRate)
    } | ${plainAlerts} | 1.00 |`,
  );
  for (const checkpoints of [false, true]) {
    o.progress?.(
      `throughput: market-monitor actor, batches of ${o.batch}, checkpoints ${checkpoints ? "on" : "off"}`,
    );
    const { rate, alerts } = await actorRun(records, o.batch, checkpoints);
    lines.push(
      `| market-monitor actor (Worker, batches acked${
        checkpoints ? ", a checkpoint per partition per batch" : ""
      }) | ${Math.round(rate)} | ${alerts} | ${fmt(rate / plainRate, 2)} |`,
    );
    if (alerts !== plainAlerts) {
      lines.push("", `WARNING: the actor raised ${alerts} alerts, the loop ${plainAlerts}`);
    }
  }
  return lines.join("\n");
}

async function tcpdPart(cacheDir: string, progress?: (m: string) => void): Promise<string[]> {
  progress?.(`tcpd: fetching river==${RIVER_VERSION} with pip (cached in ${cacheDir})`);
  const all = await loadTcpd(cacheDir);
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-bench-tcpd-" });
  const lines = [
    `TCPD series from river ${RIVER_VERSION} (replay agent → market-monitor actor, embedded log), scored as TCPDBench`,
    `does: F1 with margin ${MARGIN} observations, index 0 a change point of all; delay = mean(first alert − change`,
    `point) within the margin. Daily parameters: ${JSON.stringify(DAILY_DETECTORS)}`,
    "",
    "| series | detector | alerts | F1 | precision | recall | mean delay (obs) |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  try {
    for (const series of all) {
      progress?.(`tcpd: replaying ${series.name} (${series.points.length} observations)`);
      const opens = await replaySeries(series, dataDir);
      const groups: [string, number[]][] = [
        ...["price_jump", "volatility_regime", "volume_spike"].map((rule): [string, number[]] => [
          rule,
          opens.filter((a) => a.rule === rule).map((a) => a.index),
        ]),
        ["any detector", [...new Set(opens.map((a) => a.index))]],
      ];
      for (const [rule, predicted] of groups) {
        if (rule === "volume_spike" && series.points[0]?.volume === null) continue;
        const f = fMeasure(series.annotations, predicted);
        lines.push(
          `| ${series.name} | ${rule} | ${predicted.length} | ${fmt(f.f1)} | ${fmt(f.precision)} | ${
            fmt(f.recall)
          } | ${fmt(meanDelay(series.annotations, predicted), 2)} |`,
        );
      }
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
  return lines;
}

type BenchRecord = DeliveredRecord & { value: Tick };

/**
 * Feeds the ticks to a market-monitor actor as the dispatcher does (per partition in order, every partition in
 * flight). With checkpoints, its state goes out after every batch (to the recorder; the checkpoint read at
 * start goes to `stream.read_latest` over an empty embedded topic).
 */
async function actorRun(
  records: BenchRecord[],
  batchSize: number,
  checkpoints: boolean,
): Promise<{ rate: number; alerts: number }> {
  const rec = recorder();
  let connector: EmbeddedConnector | undefined;
  let tools: { close(): Promise<void> } | undefined;
  const channel = new MessageChannel();
  if (checkpoints) {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-bench-monitor-" });
    connector = new EmbeddedConnector({ dataDir });
    await connector.connect();
    await connector.admin.createTopics([{
      name: "bench.state",
      partitions: 1,
      replicationFactor: 1,
      config: {},
    }]);
    tools = await serveActorTools(channel.port1, {
      actorId: "bench/market-monitor",
      allow: ["stream.read_latest"],
      tools: streamTools({ connector }),
    });
  }
  const actor = await ActorHandle.start({
    path: "bench/market-monitor",
    module: new URL("../../actors/agents/market_monitor.ts", import.meta.url),
    config: { stateTopic: checkpoints ? "bench.state" : null },
    publish: rec.publish,
    ...(checkpoints ? { toolPort: channel.port2 } : {}),
  });
  try {
    const byPartition = new Map<number, BenchRecord[]>();
    for (const r of records) {
      const list = byPartition.get(r.partition) ?? [];
      list.push(r);
      byPartition.set(r.partition, list);
    }
    const t0 = performance.now();
    let n = 0;
    await Promise.all([...byPartition.values()].map(async (list) => {
      for (let i = 0; i < list.length; i += batchSize) {
        const batch: AgentBatch = { id: `b${n++}`, records: list.slice(i, i + batchSize) };
        await actor.send(batch);
      }
    }));
    const rate = records.length / ((performance.now() - t0) / 1000);
    return { rate, alerts: rec.records("market.alerts").length };
  } finally {
    await actor.stop(5_000);
    await tools?.close();
    await connector?.close();
    channel.port1.close();
    channel.port2.close();
  }
}

/** Partition of a symbol: a stable hash (the bench has no broker; only grouping matters). */
function partitionOf(symbol: string): number {
  let h = 0;
  for (const c of symbol) h = (h * 31 + c.charCodeAt(0)) | 0;
  return Math.abs(h) % PARTITIONS;
}
