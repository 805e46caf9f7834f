/**
 * The market monitor on real labelled series: `bitcoin` and `apple` of the Turing Change Point Dataset (TCPD),
 * as the `river` package on PyPI ships them (`river/drift/datasets/`, with the annotators' change points). The
 * wheel is fetched at bench time with `pip download` into the cache (the data is never committed), each series
 * is written as a JSONL file of ticks and replayed through the pipeline — replay agent → ticks topic →
 * `market-monitor` actor → alerts topic, on the embedded log — and the alerts' indices are scored as TCPDBench
 * scores a detector: F1 with a margin of 5 observations (index 0 counts as a change point of every annotator
 * and of the prediction; precision against the union of the annotations, recall averaged over annotators).
 * Detection delay, which TCPDBench does not report, is the mean of (first alert index − change point) over the
 * change points an alert falls within the margin of.
 *
 * Apple: TCPD's series is every third day of the CSV (its annotations index that subsample), so the bench
 * replays every third row. Volume is given to the monitor as a running total (a tick's volume is cumulative),
 * so the volume-spike detector sees the day's volume as the increase.
 *
 * @module
 */
import { join } from "node:path";
import avsc from "avsc";
import { readTopicToEnd } from "../../connector/read_topic_to_end.ts";
import { run } from "../services/process.ts";
import { runId, startNode, testConfig, waitFor } from "../e2e/_pipeline_harness.ts";

/** The river release the bench reads (pinned, so the figures are reproducible). */
export const RIVER_VERSION = "0.26.1";
/** TCPDBench's default margin, observations. */
export const MARGIN = 5;

/** One labelled series. */
export interface TcpdSeries {
  name: string;
  /** Event time (the day, ms) and close price per observation, in order. */
  points: { ts: number; price: number; volume: number | null }[];
  /** Change points per annotator (indices into `points`). */
  annotations: Record<string, number[]>;
}

/**
 * Fetches the river wheel (cached in `cacheDir`) and reads the two series.
 * @throws {Error} when pip cannot fetch the wheel (naming the command) or the files are not where expected
 */
export async function loadTcpd(cacheDir: string): Promise<TcpdSeries[]> {
  const dir = join(cacheDir, `river-${RIVER_VERSION}`);
  const extracted = join(dir, "river", "drift", "datasets");
  try {
    await Deno.stat(join(extracted, "bitcoin.csv"));
  } catch {
    await Deno.mkdir(dir, { recursive: true });
    await run([
      "python3",
      "-m",
      "pip",
      "download",
      "--quiet",
      "--no-deps",
      "-d",
      dir,
      `river==${RIVER_VERSION}`,
    ]);
    const wheel = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".whl"));
    if (!wheel) throw new Error(`pip download river==${RIVER_VERSION} left no wheel in ${dir}`);
    await run([
      "python3",
      "-c",
      "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); " +
      "[z.extract(n, sys.argv[2]) for n in z.namelist() if n.startswith('river/drift/datasets/')]",
      join(dir, wheel.name),
      dir,
    ]);
  }
  const read = (f: string) => Deno.readTextFile(join(extracted, f));
  const bitcoinCsv = parseCsv(await read("bitcoin.csv"));
  const appleCsv = parseCsv(await read("apple.csv")).filter((_, i) => i % 3 === 0);
  return [
    {
      name: "bitcoin",
      points: bitcoinCsv.map((r) => ({ ts: Date.parse(r.date!), price: Number(r.price), volume: null })),
      annotations: annotationsOf(await read("bitcoin.py")),
    },
    {
      name: "apple",
      points: runningVolume(
        appleCsv.map((r) => ({ ts: Date.parse(r.Date!), price: Number(r.Close), day: Number(r.Volume) })),
      ),
      annotations: annotationsOf(await read("apple.py")),
    },
  ];
}

function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const names = header!.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [names[i]!, v])));
}

function runningVolume(rows: { ts: number; price: number; day: number }[]): TcpdSeries["points"] {
  let total = 0;
  return rows.map((r) => ({ ts: r.ts, price: r.price, volume: total += r.day }));
}

/** The `annotations={"6": [...], ...}` literal of a river dataset module. */
function annotationsOf(source: string): Record<string, number[]> {
  const block = /annotations=\{([^}]*)\}/s.exec(source)?.[1];
  if (!block) throw new Error("no annotations={...} in the river dataset module");
  const out: Record<string, number[]> = {};
  for (const m of block.matchAll(/"(\w+)":\s*\[([\d,\s]*)\]/g)) {
    out[m[1]!] = m[2]!.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  }
  return out;
}

function truePositives(truth: Set<number>, predicted: Set<number>, margin: number): Set<number> {
  const left = new Set(predicted);
  const tp = new Set<number>();
  for (const tau of [...truth].sort((a, b) => a - b)) {
    const close = [...left].filter((x) => Math.abs(tau - x) <= margin)
      .sort((a, b) => Math.abs(tau - a) - Math.abs(tau - b) || a - b);
    if (close.length === 0) continue;
    tp.add(tau);
    left.delete(close[0]!);
  }
  return tp;
}

/** TCPDBench's F1 (`f_measure`, α = 0.5), with its precision and recall. */
export function fMeasure(
  annotations: Record<string, number[]>,
  predictions: number[],
  margin = MARGIN,
): { f1: number; precision: number; recall: number } {
  const tks = Object.values(annotations).map((a) => new Set([0, ...a]));
  const x = new Set([0, ...predictions]);
  const union = new Set(tks.flatMap((t) => [...t]));
  const precision = truePositives(union, x, margin).size / x.size;
  const recall = tks.reduce((s, t) => s + truePositives(t, x, margin).size / t.size, 0) / tks.length;
  const f1 = precision + recall === 0 ? 0 : (precision * recall) / (0.5 * recall + 0.5 * precision);
  return { f1, precision, recall };
}

/** Mean (first prediction within the margin − change point) over the annotated change points that have one. */
export function meanDelay(
  annotations: Record<string, number[]>,
  predictions: number[],
  margin = MARGIN,
): number {
  const union = [...new Set(Object.values(annotations).flat())];
  const delays = union.flatMap((tau) => {
    const first = predictions.filter((p) => Math.abs(p - tau) <= margin).sort((a, b) => a - b)[0];
    return first === undefined ? [] : [first - tau];
  });
  return delays.length === 0 ? NaN : delays.reduce((s, d) => s + d, 0) / delays.length;
}

/** Detector settings the bench uses for daily series (stated in the report). */
export const DAILY_DETECTORS = {
  price_jump: { window: 50, minSamples: 20, threshold: 5 },
  volatility_regime: { minSamples: 30, longLambda: 0.98, lambda: 0.9 },
  volume_spike: { window: 50, minSamples: 20, multiple: 3, minZ: 4 },
  stale_feed: { enabled: false },
  source_divergence: { enabled: false },
};

/**
 * Replays one series through a node on the embedded log and returns the OPEN alerts as (rule, index).
 */
export async function replaySeries(
  series: TcpdSeries,
  dataDir: string,
): Promise<{ rule: string; index: number }[]> {
  const id = runId();
  const file = join(dataDir, `${series.name}.jsonl`);
  const symbol = `TCPD-${series.name.toUpperCase()}`;
  await Deno.writeTextFile(
    file,
    series.points.map((p) =>
      JSON.stringify({ symbol, source: "tcpd", ts: p.ts, price: p.price, volume: p.volume })
    )
      .join("\n") + "\n",
  );
  const ticks = `b.ticks.${id}`, alerts = `b.alerts.${id}`, dlq = `b.dlq.${id}`;
  const config = testConfig(
    `
node: { name: tcpd, dataDir: ${join(dataDir, id)}, http: { port: 0 }, deadLetterTopic: ${dlq} }
topics:
  ${ticks}: { partitions: 1, schema: market.tick }
  ${alerts}: { partitions: 1, schema: market.alert }
  ${dlq}: { partitions: 1 }
agents:
  synthetic: { kind: synthetic, enabled: false }
  postgres-sink: { kind: postgres-sink, enabled: false }
  replay:
    kind: replay
    restart: transient
    publish: [${ticks}, ${dlq}]
    config: { path: ${file}, speed: 0, keepSource: true, topics: { tick: ${ticks} }, deadLetterTopic: ${dlq} }
  monitor:
    kind: market-monitor
    subscribe: { topics: [${ticks}], group: monitor.${id}, fromBeginning: true }
    publish: [${alerts}, ${dlq}]
    config:
      topic: ${alerts}
      stateTopic: null
      deadLetterTopic: ${dlq}
      detectors: ${JSON.stringify(DAILY_DETECTORS)}
`,
    {},
  );
  const node = await startNode(config);
  try {
    const c = node.pipeline.connector;
    await waitFor(`the monitor to consume ${series.points.length} ${series.name} ticks`, async () => {
      const [p] = await c.offsets(ticks, `monitor.${id}`);
      const done = Number(p?.committed ?? 0) >= series.points.length;
      return { done, seen: p };
    }, 120_000);
    const type = avsc.Type.forSchema(
      JSON.parse(await Deno.readTextFile(new URL("../../schemas/market.alert/v2.avsc", import.meta.url))),
    );
    const index = new Map(series.points.map((p, i) => [p.ts, i]));
    return (await readTopicToEnd(c, alerts))
      .map((r) =>
        type.fromBuffer(Buffer.from(r.value!.subarray(5))) as {
          rule: string;
          status: string;
          ts: Date | number;
        }
      )
      .filter((a) => a.status === "OPEN")
      .map((a) => ({
        rule: a.rule,
        index: index.get(a.ts instanceof Date ? a.ts.getTime() : Number(a.ts)) ?? -1,
      }));
  } finally {
    await node.stop();
  }
}
