/**
 * The market monitor: consumes `market.ticks` and publishes alerts (`market.alert` v2) keyed by symbol to
 * `market.alerts`, from the detectors of {@linkcode MarketMonitor} — price jump, volatility regime, volume
 * spike, stale feed, cross-source divergence — each alert with its lifecycle (OPEN → UPDATE → RESOLVE), dedup
 * key and provenance (detector version, parameters, input offsets, observed values).
 *
 * State survives restarts: after publishing a batch's alerts, the monitor publishes each partition's detector
 * state, with the offset it covers, to a compacted topic (`stateTopic`, key `<stateKey>/<topic>/<partition>`)
 * before the batch is acknowledged — so a checkpoint always covers at least what the group committed. A new
 * Worker (restart, crash, rebalance) restores the checkpoint of each partition when it first sees it (read
 * through the `stream.read_latest` tool) and skips the records it covers: no warm-up gap, no alert raised twice
 * from a record already checkpointed. Between an alert's publish and its checkpoint a crash makes the next
 * incarnation publish that alert again, byte for byte with the same id (at-least-once; deduplicate by `id`).
 *
 * Redelivery within one Worker is handled like the bar builder: records at or below the last observed offset of
 * a partition are skipped, and alerts whose publish failed are published first on the next batch. Records that
 * are not ticks (no symbol, source, finite ts and price) are dead-lettered (`dlq.stage` = `monitor.input`).
 *
 * @module
 */
import { z } from "zod";
import { DLQ_HEADERS } from "../../connector/dead_letter.ts";
import type { InputRef, Observation } from "../monitor/detector.ts";
import { type Alert, MarketMonitor, partitionOf, type PartitionState } from "../monitor/market_monitor.ts";
import { checkMonitorDetectors, DETECTOR_NAMES, MONITOR_DETECTOR_FIELDS } from "../monitor/monitor_config.ts";
import type { AgentBatch } from "../runtime/agent_batch.ts";
import type { AgentContext } from "../runtime/agent_context.ts";
import type { AgentRecord, DeliveredRecord } from "../runtime/agent_record.ts";
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";

/** Config of the market monitor. */
export const MarketMonitorConfig = z.object({
  topic: z.string().min(1).default("market.alerts").describe("Where alerts go."),
  stateTopic: z.string().min(1).nullable().default("market.monitor-state").describe(
    "Compacted topic of the detector checkpoints; `null` keeps state in memory only (a restart warms up).",
  ),
  stateKey: z.string().min(1).default("qistream.market-monitor").describe(
    "Prefix of this monitor's checkpoint keys; unique per monitor agent (its consumer group is a good choice).",
  ),
  name: z.string().min(1).default("market-monitor").describe("Written to each alert's `source`."),
  deadLetterTopic: z.string().min(1).default("market.dead-letter").describe(
    "Where records that are not ticks go.",
  ),
  ...MONITOR_DETECTOR_FIELDS,
}).strict().superRefine(checkMonitorDetectors);

/** The validated config. */
export type MarketMonitorConfig = z.infer<typeof MarketMonitorConfig>;

/** The monitor's spec: it reads its checkpoints through `stream.read_latest`; no permissions. */
export const spec: AgentKindSpec<MarketMonitorConfig> = defineAgent({
  name: "market-monitor",
  summary: "Watches ticks for price jumps, volatility regimes, volume spikes, stale feeds and cross-source " +
    "divergence; publishes alerts with a lifecycle and provenance; checkpoints its state",
  description: "Each detector is a deterministic state machine over event time (actors/monitor/); an alert " +
    "opens, updates and resolves per dedup key, with a cooldown and a severity, and carries its provenance " +
    "(detector version, parameters, input offsets, observed values). Detector state is checkpointed per " +
    "partition to `stateTopic` before a batch is acknowledged and restored by the next incarnation, so a " +
    'restart neither warms up again nor re-alerts. See docs/agents.md, "market-monitor".',
  role: "consumer",
  config: MarketMonitorConfig,
  examples: [{
    title: "A stricter jump threshold; US market hours for AAPL",
    config: {
      stateKey: "qistream.market-monitor",
      detectors: { price_jump: { threshold: 10 } },
      symbols: { AAPL: { stale_feed: { marketHours: "us-equities" } } },
    },
  }],
  tools: ["stream.read_latest"],
  topics: (config) => ({
    writes: [config.topic, ...(config.stateTopic ? [config.stateTopic] : []), config.deadLetterTopic],
  }),
  permissions: {},
  batch: { maxRecords: 5000, maxWaitMs: 1000 },
});

/** Alert transitions published, by detector, severity and status. */
export const ALERTS = "alerts_total";
/** Firing signals swallowed by a cooldown, by detector. */
export const SUPPRESSED = "alerts_suppressed_total";
/** Partitions whose state was restored (`from` = checkpoint) or started empty (`from` = cold). */
export const RESTORES = "monitor_state_restores_total";
/** Delivered records that are not ticks (dead-lettered), by topic. */
export const INVALID_RECORDS = "monitor_invalid_records_total";

/** A checkpoint as stored on the state topic. */
interface Checkpoint {
  version: 1;
  /** The last offset folded into `state`. */
  offset: string;
  state: PartitionState;
}

let monitor: MarketMonitor | undefined;
let monitorFor = "";
/** Last observed offset per `topic/partition`. */
const observed = new Map<string, bigint>();
/** Partitions whose checkpoint this Worker has looked up. */
const restored = new Set<string>();
let checkpoints: Map<string, Checkpoint> | undefined;
let pendingAlerts: Alert[] = [];
/** Partitions whose state changed since their last acknowledged checkpoint. */
const unsaved = new Set<string>();
let pendingLetters: AgentRecord[] = [];
const suppressedReported: Record<string, number> = {};

/**
 * Runs the detectors over the batch, publishes the alerts, then the checkpoints, then the dead letters.
 *
 * @throws {PublishError} when a publish fails (the batch is delivered again; nothing is observed twice)
 * @throws {ToolCallError} when the checkpoint cannot be read (the batch is delivered again)
 */
export async function receive(batch: AgentBatch, ctx: AgentContext<MarketMonitorConfig>): Promise<void> {
  const c = ctx.config;
  const key = JSON.stringify([c.detectors, c.symbols, c.name]);
  if (!monitor || monitorFor !== key) {
    monitor = new MarketMonitor({ config: { detectors: c.detectors, symbols: c.symbols }, agent: c.name });
    monitorFor = key;
    observed.clear();
    restored.clear();
    unsaved.clear();
  }
  for (const record of batch.records) {
    const where = partitionOf(record);
    const offset = BigInt(record.offset);
    if (!restored.has(where)) await restore(where, offset, ctx);
    else if (c.stateTopic !== null && offset > (observed.get(where) ?? offset) + 1n) {
      await adoptNewer(where, ctx); // a gap: another owner may have moved the partition on meanwhile
    }
    const last = observed.get(where);
    if (last !== undefined && offset <= last) continue;
    observed.set(where, offset);
    unsaved.add(where);
    const o = observationOf(record);
    if (typeof o === "string") {
      ctx.metrics.inc(INVALID_RECORDS, { topic: record.topic });
      pendingLetters.push(deadLetter(record, o, ctx.actorId));
      continue;
    }
    pendingAlerts.push(...monitor.observe(o));
  }
  if (pendingAlerts.length > 0) {
    const alerts = pendingAlerts;
    await ctx.publish(c.topic, alerts.map((a) => ({ key: a.symbol, value: a })));
    pendingAlerts = pendingAlerts.slice(alerts.length);
    for (const a of alerts) {
      ctx.metrics.inc(ALERTS, { detector: a.rule, severity: a.severity, status: a.status });
    }
  }
  // Every partition changed since its last acknowledged checkpoint (also those of an earlier batch whose
  // checkpoint publish failed: its redelivery observes nothing new, but its commit must not outrun the state).
  if (c.stateTopic !== null && unsaved.size > 0) {
    const saving = [...unsaved].sort();
    const records = saving.map((where) => ({
      key: `${c.stateKey}/${where}`,
      value: new TextEncoder().encode(JSON.stringify(
        {
          version: 1,
          offset: String(observed.get(where)!),
          state: monitor!.snapshot(where)!,
        } satisfies Checkpoint,
        // A robust window's sorted copy is rebuilt on restore (the same multiset sorts the same): half the bytes.
        (key, value) => key === "sorted" ? undefined : value,
      )),
    }));
    await ctx.publish(c.stateTopic, records);
    for (const where of saving) unsaved.delete(where);
  }
  if (pendingLetters.length > 0) {
    const letters = pendingLetters;
    await ctx.publish(c.deadLetterTopic, letters);
    pendingLetters = pendingLetters.slice(letters.length);
  }
  for (const d of DETECTOR_NAMES) {
    const n = monitor.counts.suppressed[d] ?? 0;
    if (n > (suppressedReported[d] ?? 0)) {
      ctx.metrics.inc(SUPPRESSED, { detector: d }, n - (suppressedReported[d] ?? 0));
      suppressedReported[d] = n;
    }
  }
}

/**
 * Restores a partition's state from its checkpoint the first time this Worker sees the partition. The
 * checkpoints are read once per Worker; when the first delivered offset lies past a cached checkpoint (another
 * owner moved on since the read), they are read again.
 */
async function restore(where: string, first: bigint, ctx: AgentContext<MarketMonitorConfig>): Promise<void> {
  const c = ctx.config;
  restored.add(where);
  if (c.stateTopic === null) return;
  try {
    checkpoints ??= await readCheckpoints(ctx);
    let found = checkpoints.get(where);
    if (!found || BigInt(found.offset) + 1n < first) {
      checkpoints = await readCheckpoints(ctx);
      found = checkpoints.get(where);
    }
    if (found && BigInt(found.offset) + 1n >= first) {
      monitor!.restore(where, found.state);
      observed.set(where, BigInt(found.offset));
      ctx.metrics.inc(RESTORES, { from: "checkpoint" });
      ctx.log.info("market monitor: {partition} restored from its checkpoint at offset {offset}", {
        partition: where,
        offset: found.offset,
      });
      return;
    }
    ctx.metrics.inc(RESTORES, { from: "cold" });
    ctx.log.info("market monitor: {partition} starts cold at offset {offset} ({why})", {
      partition: where,
      offset: String(first),
      why: found ? `its checkpoint covers only up to ${found.offset}` : "no checkpoint",
    });
  } catch (error) {
    restored.delete(where);
    throw error;
  }
}

/**
 * After a gap in a partition's offsets (it was another member's for a while, or the log skipped offsets):
 * adopts the partition's checkpoint if it is newer than this Worker's state, else keeps the state.
 */
async function adoptNewer(where: string, ctx: AgentContext<MarketMonitorConfig>): Promise<void> {
  checkpoints = await readCheckpoints(ctx);
  const found = checkpoints.get(where);
  if (!found || BigInt(found.offset) <= observed.get(where)!) return;
  monitor!.restore(where, found.state);
  observed.set(where, BigInt(found.offset));
  ctx.metrics.inc(RESTORES, { from: "checkpoint" });
  ctx.log.info("market monitor: {partition} moved on elsewhere; adopted its checkpoint at offset {offset}", {
    partition: where,
    offset: found.offset,
  });
}

async function readCheckpoints(ctx: AgentContext<MarketMonitorConfig>): Promise<Map<string, Checkpoint>> {
  const prefix = `${ctx.config.stateKey}/`;
  const result = await ctx.tools.call("stream.read_latest", {
    topic: ctx.config.stateTopic,
    keyPrefix: prefix,
  }) as {
    records: { key: string; value: string | null }[];
  };
  const out = new Map<string, Checkpoint>();
  for (const r of result.records) {
    if (r.value === null) continue;
    const cp = JSON.parse(
      r.value,
      (_, value) =>
        value !== null && typeof value === "object" && Array.isArray(value.values) && !("sorted" in value)
          ? { ...value, sorted: [...value.values].sort((a: number, b: number) => a - b) }
          : value,
    ) as Checkpoint;
    if (cp.version === 1) out.set(r.key.slice(prefix.length), cp);
  }
  return out;
}

/** The observation of a decoded tick, or why it is not one. */
export function observationOf(record: DeliveredRecord): Observation | string {
  const value = record.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `expected a tick record, got ${value === null ? "null" : typeof value}`;
  }
  const v = value as Record<string, unknown>;
  const ts = v.ts instanceof Date ? v.ts.getTime() : typeof v.ts === "bigint" ? Number(v.ts) : v.ts;
  if (typeof v.symbol !== "string" || v.symbol === "") return "field symbol: expected a non-empty string";
  if (typeof v.source !== "string" || v.source === "") return "field source: expected a non-empty string";
  if (typeof ts !== "number" || !Number.isFinite(ts)) return "field ts: expected a finite timestamp";
  if (typeof v.price !== "number" || !Number.isFinite(v.price)) {
    return "field price: expected a finite number";
  }
  const volume = typeof v.volume === "number" && Number.isFinite(v.volume) ? v.volume : null;
  const ref: InputRef = { topic: record.topic, partition: record.partition, offset: record.offset };
  return { symbol: v.symbol, source: v.source, ts, price: v.price, volume, ref };
}

function deadLetter(record: DeliveredRecord, message: string, agent: string): AgentRecord {
  return {
    key: record.key,
    value: new TextEncoder().encode(
      JSON.stringify(record.value, (_, x) => typeof x === "bigint" ? Number(x) : x),
    ),
    headers: {
      ...record.headers,
      [DLQ_HEADERS.sourceTopic]: record.topic,
      [DLQ_HEADERS.sourcePartition]: String(record.partition),
      [DLQ_HEADERS.sourceOffset]: record.offset,
      [DLQ_HEADERS.sourceTimestamp]: String(record.timestamp),
      [DLQ_HEADERS.stage]: "monitor.input",
      [DLQ_HEADERS.errorClass]: "RangeError",
      [DLQ_HEADERS.errorMessage]: message.slice(0, 4096),
      [DLQ_HEADERS.agent]: agent,
      [DLQ_HEADERS.attempts]: "1",
    },
  };
}
