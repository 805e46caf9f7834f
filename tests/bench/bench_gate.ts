/**
 * `deno task bench --gate`: short runs of every benchmark, each ratio to its same-run baseline checked against a
 * limit kept in `gate_floors.json` beside this file. A throughput ratio must stay at or above its `min`; a latency
 * ratio at or below its `max`. The limits come from measured medians minus a margin for this noisy machine (each
 * entry says what was measured); a measure without an entry, or an entry no run produced, fails too, so the file
 * and the benchmarks cannot drift apart silently.
 *
 * @module
 */
import type { BenchRow } from "./bench_report.ts";
import type { LatencyFigure } from "./e2e_bench.ts";

/** One ratio the gate checks. */
export interface GateMeasure {
  /** `<bench>: <measure> ÷ <baseline>`, the key in `gate_floors.json`. */
  id: string;
  ratio: number;
}

/** A limit from `gate_floors.json`. */
export interface GateLimit {
  /** The ratio must be ≥ this (throughput). */
  min?: number;
  /** The ratio must be ≤ this (latency). */
  max?: number;
  /** What was measured when the limit was set (medians, runs, machine). */
  measured: string;
}

/** The gate's verdict on one id. */
export interface GateVerdict {
  id: string;
  ratio?: number;
  limit?: GateLimit;
  ok: boolean;
  /** Why it failed. */
  reason?: string;
}

/** The limits file. */
export const GATE_FLOORS_FILE = new URL("./gate_floors.json", import.meta.url);

/**
 * The ratios of a benchmark's rows that have a same-run baseline.
 *
 * @param bench The benchmark's name (`actors`, `connector`, `sinks`).
 * @param rows Its rows.
 */
export function ratiosOf(bench: string, rows: BenchRow[]): GateMeasure[] {
  return rows.filter((r) => r.baseline).map((r) => ({
    id: `${bench}: ${r.name} ÷ ${r.baseline!.name}`,
    ratio: r.rate / r.baseline!.rate,
  }));
}

/**
 * The end-to-end benchmark's gate ratios: each qistream run's p50 latency over the baseline loop's at the same
 * rate (lower is better), and the share of the window's rows delivered (must be 1).
 *
 * @param figures What `e2eBench` measured.
 */
export function e2eRatios(figures: LatencyFigure[]): GateMeasure[] {
  const out: GateMeasure[] = [];
  for (const f of figures.filter((f) => f.name.startsWith("qistream"))) {
    const base = figures.find((b) => b.name.startsWith("baseline") && b.rate === f.rate);
    if (base) {
      out.push({ id: `e2e: p50 latency at ${f.rate}/s, ${f.name} ÷ ${base.name}`, ratio: f.p50 / base.p50 });
    }
    out.push({
      id: `e2e: rows delivered at ${f.rate}/s, ${f.name} ÷ rows published`,
      ratio: f.rows / (f.rows + f.missing),
    });
  }
  return out;
}

/**
 * Checks every measure against its limit.
 *
 * @param measures What the short runs measured.
 * @param limits The contents of `gate_floors.json`.
 * @returns One verdict per id in either (a measure without a limit, or a limit without a measure, fails).
 */
export function judgeGate(measures: GateMeasure[], limits: Record<string, GateLimit>): GateVerdict[] {
  const verdicts: GateVerdict[] = measures.map(({ id, ratio }) => {
    const limit = limits[id];
    if (!limit) return { id, ratio, ok: false, reason: `no limit in gate_floors.json for this measure` };
    if (!Number.isFinite(ratio)) return { id, ratio, limit, ok: false, reason: `the ratio is ${ratio}` };
    if (limit.min !== undefined && ratio < limit.min) {
      return { id, ratio, limit, ok: false, reason: `${ratio.toFixed(2)}× is below the floor ${limit.min}×` };
    }
    if (limit.max !== undefined && ratio > limit.max) {
      return {
        id,
        ratio,
        limit,
        ok: false,
        reason: `${ratio.toFixed(2)}× is above the ceiling ${limit.max}×`,
      };
    }
    return { id, ratio, limit, ok: true };
  });
  const measured = new Set(measures.map((m) => m.id));
  for (const [id, limit] of Object.entries(limits)) {
    if (!measured.has(id)) verdicts.push({ id, limit, ok: false, reason: "no run measured it (renamed?)" });
  }
  return verdicts;
}

/**
 * The verdicts as text, one line each, and a summary `gate: N passed, N failed`.
 *
 * @param verdicts From {@linkcode judgeGate}.
 */
export function formatGate(verdicts: GateVerdict[]): string {
  const lines = verdicts.map((v) => {
    const ratio = v.ratio === undefined ? "—" : `${v.ratio.toFixed(2)}×`;
    const limit = v.limit?.min !== undefined
      ? `≥ ${v.limit.min}×`
      : v.limit?.max !== undefined
      ? `≤ ${v.limit.max}×`
      : "";
    return `${v.ok ? "ok  " : "FAIL"}  ${ratio.padStart(7)}  ${limit.padEnd(8)}  ${v.id}${
      v.reason ? ` — ${v.reason}` : ""
    }`;
  });
  const failed = verdicts.filter((v) => !v.ok).length;
  return [...lines, `gate: ${verdicts.length - failed} passed, ${failed} failed`].join("\n");
}

/** Services for the gate's runs. */
export interface GateEnv {
  brokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  clickhouseUrl: string;
  java: string;
  kafkaClasspath: string;
}

/**
 * Runs the short benchmarks (about five minutes on the 2-core machine) and judges them.
 *
 * @param env The services.
 * @param progress Progress lines.
 * @returns The printed report and the verdicts.
 */
export async function runGate(
  env: GateEnv,
  progress: (m: string) => void,
): Promise<{ report: string; verdicts: GateVerdict[] }> {
  const measures: GateMeasure[] = [];
  const reports: string[] = [];
  const { actorsBench } = await import("./actors_bench.ts");
  progress("gate: actors (20 000 records)");
  const actors = await actorsBench({
    records: 20_000,
    batch: 100,
    instances: 2,
    creditWindow: 4,
    crashes: 10,
    progress: (m) => progress(`gate: actors: ${m}`),
  });
  reports.push(actors.report);
  measures.push(...ratiosOf("actors", actors.rows));

  const { connectorBench } = await import("./connector_bench.ts");
  progress("gate: connector (20 000 records)");
  const connector = await connectorBench({
    brokers: env.brokers,
    schemaRegistryUrl: env.schemaRegistryUrl,
    java: env.java,
    kafkaClasspath: env.kafkaClasspath,
    records: 20_000,
    publishBatch: 500,
    inFlight: 8,
    progress: (m) => progress(`gate: connector: ${m}`),
  });
  reports.push(connector.report);
  measures.push(...ratiosOf("connector", connector.rows));

  const { sinksBench } = await import("./sinks_bench.ts");
  progress("gate: sinks (20 000 records)");
  const sinks = await sinksBench({
    records: 20_000,
    batch: 1000,
    instances: 2,
    creditWindow: 4,
    databaseUrl: env.databaseUrl,
    clickhouseUrl: env.clickhouseUrl,
    embedded: true,
    progress: (m) => progress(`gate: sinks: ${m}`),
  });
  reports.push(sinks.report);
  measures.push(...ratiosOf("sinks", sinks.rows));

  const { e2eBench } = await import("./e2e_bench.ts");
  progress("gate: e2e (1 000 ticks/s, 10 s)");
  const e2e = await e2eBench({
    brokers: env.brokers,
    schemaRegistryUrl: env.schemaRegistryUrl,
    databaseUrl: env.databaseUrl,
    rates: [1000],
    seconds: 10,
    progress: (m) => progress(`gate: e2e: ${m}`),
  });
  reports.push(e2e.report);
  measures.push(...e2eRatios(e2e.figures));

  const limits = JSON.parse(await Deno.readTextFile(GATE_FLOORS_FILE)) as Record<string, GateLimit>;
  const verdicts = judgeGate(measures, limits);
  return { report: [...reports, formatGate(verdicts)].join("\n\n"), verdicts };
}
