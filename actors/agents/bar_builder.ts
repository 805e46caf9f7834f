/**
 * The bar builder: consumes `market.ticks` (or trades) and publishes OHLCV bars (`market.bar` v1) keyed by
 * symbol to `market.bars`, built by event time by a {@linkcode BarAggregator} — one per Worker, fed in
 * delivery order. A bar is published once, when its series' watermark (largest event time seen minus
 * `allowedLatenessMs`) passes its end.
 *
 * Late-price policy: **dead-letter, never amend**. A price whose bar is already closed changes nothing; it is
 * counted (`bar_late_records_total`) and sent to the dead-letter topic (its value as JSON, `dlq.stage` =
 * `bar.late`). So every bar on `market.bars` is final and appears once per (symbol, source, interval, ts), and
 * the bar schema needs no revision field. A record that is not a price (no symbol, source, finite ts and
 * price) goes there too (`dlq.stage` = `bar.input`).
 *
 * Redelivery: records at or below the last offset folded per partition are skipped, and closed bars whose
 * publish failed are kept and published first on the next batch, so a failed publish (the batch fails and is
 * delivered again) neither double-counts nor loses a bar. State is in memory: a restart or a rebalance loses the
 * open bars' earlier prices (see docs/agents.md).
 *
 * @module
 */
import { z } from "zod";
import { DLQ_HEADERS } from "../../connector/dead_letter.ts";
import { type Bar, BarAggregator, INTERVAL_PATTERN, type PricePoint } from "../bars/bar_aggregator.ts";
import type { AgentBatch } from "../runtime/agent_batch.ts";
import type { AgentContext } from "../runtime/agent_context.ts";
import type { AgentRecord, DeliveredRecord } from "../runtime/agent_record.ts";
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";

/** Config of the bar builder. */
export const BarBuilderConfig = z.object({
  intervals: z.array(z.string().regex(INTERVAL_PATTERN, "expected a count and s, m, h or d, e.g. 1m")).min(1)
    .refine((l) => new Set(l).size === l.length, "intervals must not repeat").default(["1m"]).describe(
      "Bar intervals to build, e.g. `[1s, 1m, 5m]`.",
    ),
  allowedLatenessMs: z.number().int().min(0).default(2_000).describe(
    "How far behind the largest event time of its series a price may arrive and still count, ms.",
  ),
  topic: z.string().min(1).default("market.bars").describe("Where bars go."),
  deadLetterTopic: z.string().min(1).default("market.dead-letter").describe(
    "Where late prices and records that are not prices go.",
  ),
});

/** The validated config. */
export type BarBuilderConfig = z.infer<typeof BarBuilderConfig>;

/** The bar builder's spec: a consumer with no tools and no permissions. */
export const spec: AgentKindSpec<BarBuilderConfig> = defineAgent({
  name: "bar-builder",
  summary:
    "Aggregates ticks into OHLCV bars by event time, closed by a watermark; late ticks are dead-lettered",
  description: "Every bar on the bar topic is final and appears once per (symbol, source, interval, ts): a " +
    "price whose bar already closed is dead-lettered (`dlq.stage` = `bar.late`), never amended. Open bars " +
    "are in memory: a restart or a rebalance loses their earlier prices.",
  role: "consumer",
  config: BarBuilderConfig,
  examples: [{
    title: "1-second, 1-minute and 5-minute bars",
    config: { intervals: ["1s", "1m", "5m"], allowedLatenessMs: 2000 },
  }],
  topics: (config) => ({ writes: [config.topic, config.deadLetterTopic] }),
  permissions: {},
});

/** Bars published, by interval. */
export const BARS_PUBLISHED = "bar_published_total";
/** Prices that arrived after their bar closed (dead-lettered), by source topic. */
export const LATE_RECORDS = "bar_late_records_total";
/** Delivered records that are not prices (dead-lettered), by source topic. */
export const INVALID_RECORDS = "bar_invalid_records_total";

let aggregator: BarAggregator | undefined;
let aggregatorFor = "";
/** Last folded offset per `topic/partition`. */
const folded = new Map<string, bigint>();
/** Closed bars not yet acknowledged by the log, and dead letters not yet sent. */
let pendingBars: Bar[] = [];
let pendingLetters: AgentRecord[] = [];

/**
 * Folds the batch's prices into bars and publishes the bars it closed, then its dead letters.
 *
 * @throws {AgentPublishError} when a publish fails (the batch is delivered again; nothing is folded twice)
 */
export async function receive(batch: AgentBatch, ctx: AgentContext<BarBuilderConfig>): Promise<void> {
  const c = ctx.config;
  const key = JSON.stringify([c.intervals, c.allowedLatenessMs]);
  if (!aggregator || aggregatorFor !== key) {
    aggregator = new BarAggregator({ intervals: c.intervals, allowedLatenessMs: c.allowedLatenessMs });
    aggregatorFor = key;
  }
  for (const record of batch.records) {
    const where = `${record.topic}/${record.partition}`;
    const offset = BigInt(record.offset);
    const last = folded.get(where);
    if (last !== undefined && offset <= last) continue;
    folded.set(where, offset);
    const point = pricePoint(record.value);
    if (typeof point === "string") {
      ctx.metrics.inc(INVALID_RECORDS, { topic: record.topic });
      pendingLetters.push(deadLetter(record, "bar.input", "RangeError", point, ctx.actorId));
      continue;
    }
    const result = aggregator.add(point);
    if (result.late) {
      ctx.metrics.inc(LATE_RECORDS, { topic: record.topic });
      pendingLetters.push(deadLetter(
        record,
        "bar.late",
        "LateRecordError",
        `${point.symbol}/${point.source} price at ${
          new Date(point.ts).toISOString()
        } arrived after its bar ` +
          `closed (watermark ${new Date(aggregator.watermark(point.symbol, point.source)!).toISOString()}, ` +
          `allowed lateness ${c.allowedLatenessMs} ms)`,
        ctx.actorId,
      ));
    }
    pendingBars.push(...result.closed);
  }
  if (pendingBars.length > 0) {
    const bars = pendingBars;
    await ctx.publish(c.topic, bars.map((bar) => ({ key: bar.symbol, value: bar })));
    pendingBars = pendingBars.slice(bars.length);
    for (const bar of bars) ctx.metrics.inc(BARS_PUBLISHED, { interval: bar.interval });
  }
  if (pendingLetters.length > 0) {
    const letters = pendingLetters;
    await ctx.publish(c.deadLetterTopic, letters);
    pendingLetters = pendingLetters.slice(letters.length);
  }
}

/** The price point of a decoded tick or trade, or why it is not one. */
export function pricePoint(value: unknown): PricePoint | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `expected a tick or trade record, got ${value === null ? "null" : typeof value}`;
  }
  const v = value as Record<string, unknown>;
  const ts = v.ts instanceof Date ? v.ts.getTime() : typeof v.ts === "bigint" ? Number(v.ts) : v.ts;
  if (typeof v.symbol !== "string" || v.symbol === "") return "field symbol: expected a non-empty string";
  if (typeof v.source !== "string" || v.source === "") return "field source: expected a non-empty string";
  if (typeof ts !== "number" || !Number.isFinite(ts)) return "field ts: expected a finite timestamp";
  if (typeof v.price !== "number" || !Number.isFinite(v.price)) {
    return "field price: expected a finite number";
  }
  const size = typeof v.size === "number" && Number.isFinite(v.size) && v.size >= 0 ? v.size : null;
  const exchange = typeof v.exchange === "string" ? v.exchange : null;
  return { symbol: v.symbol, source: v.source, exchange, ts, price: v.price, size };
}

function deadLetter(
  record: DeliveredRecord,
  stage: string,
  errorClass: string,
  message: string,
  agent: string,
): AgentRecord {
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
      [DLQ_HEADERS.stage]: stage,
      [DLQ_HEADERS.errorClass]: errorClass,
      [DLQ_HEADERS.errorMessage]: message.slice(0, 4096),
      [DLQ_HEADERS.agent]: agent,
      [DLQ_HEADERS.attempts]: "1",
    },
  };
}
