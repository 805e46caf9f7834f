/**
 * The CryptoCompare agent: an optional REST backfill of bars ({@linkcode CryptoCompareHistory}), then the
 * streaming websocket ({@linkcode CryptoCompareStream}: trades, aggregate tickers, OHLC bars), published keyed
 * by symbol to the topic of each record kind. Heartbeats, reconnects with backoff, resubscription and
 * sequence gaps are the stream's business; malformed frames go to the dead-letter topic.
 *
 * Its Worker may reach exactly the hosts of the configured `url` and `wsUrl`: its spec's `permissions` computes
 * that `net` permission from the config. A refused API key (REST 401 or stream TYPE 401) makes `run()`
 * reject, so the supervisor sees a crash with the upstream's message.
 *
 * Its source offset ({@linkcode CryptoCompareOffset}) holds the last backfilled bar per pair and the stream's
 * position (the highest trade `CCSEQ` per market and pair, and when the last record arrived). A restart backfills
 * only bars newer than the saved ones and drops the trades CryptoCompare replays on subscribe that were published
 * before. After a reconnect, and after a restart, the gap since the stream's last record is filled from the REST
 * minute history (`gapBackfill`, as `bar` records, when `topics.bar` is set).
 *
 * @module
 */
import { z } from "zod";
import type { AgentContext } from "../runtime/agent_context.ts";
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { CRYPTOCOMPARE_REST_URL, CryptoCompareHistory } from "../sources/cryptocompare_history.ts";
import {
  CRYPTOCOMPARE_WS_URL,
  CryptoCompareStream,
  DEFAULT_CRYPTOCOMPARE_SUBS,
} from "../sources/cryptocompare_stream.ts";
import { netHost, publishingFields, SourceOutput, sourceTopics } from "./_source_agent.ts";

const httpUrl = z.string().regex(/^https?:\/\/[^/]/, "expected an http(s) URL");
const wsUrl = z.string().regex(/^wss?:\/\/[^/]/, "expected a ws(s) URL");

/** Config of the CryptoCompare agent. */
export const CryptoCompareConfig = z.object({
  ...publishingFields,
  apiKey: z.string().optional().transform((v) => v || undefined).describe(
    "API key (`${CRYPTOCOMPARE_API_KEY}`); empty means none.",
  ),
  url: httpUrl.default(CRYPTOCOMPARE_REST_URL).describe("REST base URL."),
  wsUrl: wsUrl.default(CRYPTOCOMPARE_WS_URL).describe("Streaming URL."),
  subscriptions: z.array(z.string().min(1)).min(1).optional().describe(
    "Stream subscriptions (`0~Coinbase~BTC~USD` trades, `5~CCCAGG~BTC~USD` index, `24~CCCAGG~BTC~USD~m` bars).",
  ),
  pairs: z.array(z.string().regex(/^[A-Za-z0-9]+-[A-Za-z0-9]+$/, "expected BASE-QUOTE, e.g. BTC-USD")).min(1)
    .optional().describe(
      "Shorthand when `subscriptions` is absent: pairs (`BTC-USD`) streamed as their aggregate index.",
    ),
  stream: z.boolean().default(true).describe("Run the stream (after the backfill)."),
  heartbeatIntervalMs: z.number().int().min(10).default(30_000).describe(
    "Expected heartbeat period; 2.5 periods of silence force a reconnect.",
  ),
  minReconnectMs: z.number().int().min(0).default(5000).describe(
    "No reconnect waits less than this (CryptoCompare asks for 5 s).",
  ),
  backfill: z.object({
    pairs: z.array(z.object({
      fsym: z.string().min(1),
      tsym: z.string().min(1),
      unit: z.enum(["minute", "hour", "day"]).default("minute"),
      exchange: z.string().min(1).optional(),
      aggregate: z.number().int().min(1).optional(),
    })).default([]),
    bars: z.number().int().min(0).default(0),
  }).prefault({}).describe("Bars to fetch over REST before streaming, per pair (published to `topics.bar`)."),
  gapBackfill: z.object({
    enabled: z.boolean().default(true).describe("Fill gaps at all."),
    maxBars: z.number().int().min(1).max(2000).default(180).describe(
      "Longest gap filled, in minute bars (one REST page at most).",
    ),
  }).prefault({}).describe(
    "After a reconnect or a restart: fetch the minute bars of the gap since the stream's last record.",
  ),
  retry: z.object({
    attempts: z.number().int().min(1).default(4),
    initialMs: z.number().int().min(0).default(500),
  }).prefault({}).describe("REST retries of retriable failures."),
});

/** The validated config. */
export type CryptoCompareConfig = z.infer<typeof CryptoCompareConfig>;

/** The CryptoCompare agent's spec: a source whose Worker may reach exactly the configured REST and streaming hosts. */
export const spec: AgentKindSpec<CryptoCompareConfig> = defineAgent({
  name: "cryptocompare",
  summary: "CryptoCompare REST backfill and streaming websocket (trades, tickers, OHLC)",
  role: "source",
  config: CryptoCompareConfig as z.ZodType<CryptoCompareConfig>,
  connections: {
    defaults: { cryptocompare: (c) => ({ apiKey: c.apiKey, url: c.url }) },
  },
  topics: sourceTopics,
  singleton: true,
  permissions: (config) => ({ net: [...new Set([netHost(config.url), netHost(config.wsUrl)])] }),
});

/** The CryptoCompare agent's source offset. */
export interface CryptoCompareOffset {
  /** Per backfilled pair (`FSYM~TSYM~unit~exchange~aggregate`): the newest bar's time, ms. */
  backfill: Record<string, number>;
  /** The stream's position: highest `CCSEQ` per `market~FSYM~TSYM`, and when its last record arrived (ms). */
  stream?: { seq: Record<string, number>; at: number };
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

type BackfillPair = CryptoCompareConfig["backfill"]["pairs"][number];

/** A pair's key in the source offset. */
function backfillKey(pair: BackfillPair): string {
  return [pair.fsym, pair.tsym, pair.unit, pair.exchange ?? "CCCAGG", pair.aggregate ?? 1].join("~");
}

/** Bars a pair's backfill asks for: all of them, or those since the saved position when it resumes. */
function backfillBars(pair: BackfillPair, position: CryptoCompareOffset, bars: number): number {
  const since = position.backfill[backfillKey(pair)];
  const stepMs = UNIT_MS[pair.unit] * (pair.aggregate ?? 1);
  return since === undefined ? bars : Math.min(bars, Math.ceil((Date.now() - since) / stepMs) + 1);
}

/**
 * Backfills (when configured), then streams until the actor stops; fills stream gaps from the REST history.
 *
 * @param ctx the agent context
 * @throws {UpstreamError} `auth` when the API key is refused; the last error when a backfill gave up
 */
export async function run(ctx: AgentContext<CryptoCompareConfig>): Promise<void> {
  const c = ctx.config;
  const out = new SourceOutput(ctx, c, "cryptocompare");
  const log = ctx.log;
  const stored = offsetOf(out.storedPosition);
  let position: CryptoCompareOffset = stored;
  const advance = (next: Partial<CryptoCompareOffset>) => (position = { ...position, ...next });
  const history = new CryptoCompareHistory({
    ...(c.apiKey ? { apiKey: c.apiKey } : {}),
    baseUrl: c.url,
    retry: c.retry,
    metrics: ctx.metrics,
    log,
    onMalformed: (raw, error) => out.malformed("cryptocompare.rest", raw, error),
  });
  await out.run(async (signal) => {
    if (c.backfill.bars > 0) {
      // Progress of the whole backfill: the bars each pair asks for (fewer where it resumes).
      const total = c.backfill.pairs.reduce(
        (n, pair) => n + backfillBars(pair, position, c.backfill.bars),
        0,
      );
      let done = 0;
      for (const [i, pair] of c.backfill.pairs.entries()) {
        if (signal.aborted) return;
        const key = backfillKey(pair);
        const since = position.backfill[key];
        const bars = backfillBars(pair, position, c.backfill.bars);
        if (since !== undefined) log.info("backfill of {key} resumes after {since}", { key, since });
        const correlationId = crypto.randomUUID();
        await history.backfill(pair, bars, {
          onRecord: (r) => {
            ctx.progress?.("backfill", ++done, total);
            if (since !== undefined && r.value.ts <= since) return;
            const at = r.value.ts;
            return out.record(r, correlationId, advance({ backfill: { ...position.backfill, [key]: at } }));
          },
          signal,
        });
        if (i === c.backfill.pairs.length - 1) ctx.progress?.("backfill", Math.max(done, total), total, true);
      }
    }
    if (!c.stream || signal.aborted) return;
    const subscriptions = subscriptionsOf(c);
    let lastAt = stored.stream?.at;
    let opened = false;
    let warnedNoBarTopic = false;
    let gapFill: Promise<void> = Promise.resolve();
    const fillGap = (from: number | undefined, why: string) => {
      if (!c.gapBackfill.enabled || from === undefined) return;
      if (c.topics.bar === undefined) {
        if (!warnedNoBarTopic) {
          log.warn(
            "cannot fill stream gaps from the REST history (since {from}, {why}): no topics.bar configured",
            {
              from,
              why,
            },
          );
        }
        warnedNoBarTopic = true;
        return;
      }
      gapFill = gapFill.then(() =>
        backfillGap(history, out, subscriptions, from, c.gapBackfill.maxBars, signal)
      )
        .catch((error) => {
          if (!signal.aborted) log.warn("filling the stream gap failed: {error}", { error: String(error) });
        });
    };
    const stream = new CryptoCompareStream({
      ...(c.apiKey ? { apiKey: c.apiKey } : {}),
      url: c.wsUrl,
      subscriptions,
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      minReconnectMs: c.minReconnectMs,
      metrics: ctx.metrics,
      log,
      lastSequences: stored.stream?.seq,
      onStatus: (status) => {
        if (status.type !== "open") return;
        if (!opened) fillGap(stored.stream?.at, "restart");
        else fillGap(lastAt, `reconnect (connection ${status.number})`);
        opened = true;
      },
      onRecord: (r) => {
        lastAt = Date.now();
        out.push(r, undefined, advance({ stream: { seq: stream.sequences(), at: lastAt } }));
      },
      onMalformed: (raw, error) => out.malformed("cryptocompare.ws", raw, error),
    });
    await stream.run(signal);
    await gapFill;
  });
}

/**
 * Fills a stream gap: the minute bars (CCCAGG) of each subscribed pair from `from` to now, as `bar` records.
 *
 * @returns when the bars are queued
 */
async function backfillGap(
  history: CryptoCompareHistory,
  out: SourceOutput,
  subscriptions: readonly string[],
  from: number,
  maxBars: number,
  signal: AbortSignal,
): Promise<void> {
  const pairs = new Set(
    subscriptions.map((s) => s.split("~").slice(2, 4).join("~")).filter((p) => p.includes("~")),
  );
  const bars = Math.min(maxBars, Math.ceil((Date.now() - from) / 60_000) + 1);
  for (const pair of pairs) {
    if (signal.aborted) return;
    const [fsym, tsym] = pair.split("~") as [string, string];
    const correlationId = crypto.randomUUID();
    await history.backfill({ fsym, tsym, unit: "minute" }, bars, {
      onRecord: (r) => r.value.ts >= from - 60_000 ? out.record(r, correlationId) : undefined,
      signal,
    });
  }
}

/** A saved position read back; anything unreadable counts as none. */
function offsetOf(stored: unknown): CryptoCompareOffset {
  const o = stored as Partial<CryptoCompareOffset> | undefined;
  return {
    backfill: typeof o?.backfill === "object" && o.backfill !== null ? o.backfill : {},
    ...(o?.stream && typeof o.stream.at === "number" ? { stream: o.stream } : {}),
  };
}

/**
 * The stream subscriptions of a config: `subscriptions`, else `5~CCCAGG~BASE~QUOTE` per pair, else the default.
 *
 * @param config the validated config
 * @returns CryptoCompare subscription strings
 */
export function subscriptionsOf(config: Pick<CryptoCompareConfig, "subscriptions" | "pairs">): string[] {
  if (config.subscriptions) return config.subscriptions;
  if (config.pairs) {
    return config.pairs.map((p) => {
      const [base, quote] = p.toUpperCase().split("-");
      return `5~CCCAGG~${base}~${quote}`;
    });
  }
  return [...DEFAULT_CRYPTOCOMPARE_SUBS];
}
