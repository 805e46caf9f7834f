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
  permissions: (config) => ({ net: [...new Set([netHost(config.url), netHost(config.wsUrl)])] }),
});

/**
 * Backfills (when configured), then streams until the actor stops.
 *
 * @param ctx the agent context
 * @throws {UpstreamError} `auth` when the API key is refused; the last error when a backfill gave up
 */
export async function run(ctx: AgentContext<CryptoCompareConfig>): Promise<void> {
  const c = ctx.config;
  const out = new SourceOutput(ctx, c, "cryptocompare");
  const log = ctx.log;
  await out.run(async (signal) => {
    if (c.backfill.bars > 0 && c.backfill.pairs.length > 0) {
      const history = new CryptoCompareHistory({
        ...(c.apiKey ? { apiKey: c.apiKey } : {}),
        baseUrl: c.url,
        retry: c.retry,
        metrics: ctx.metrics,
        log,
        onMalformed: (raw, error) => out.malformed("cryptocompare.rest", raw, error),
      });
      for (const pair of c.backfill.pairs) {
        if (signal.aborted) return;
        const correlationId = crypto.randomUUID();
        await history.backfill(pair, c.backfill.bars, {
          onRecord: (r) => out.record(r, correlationId),
          signal,
        });
      }
    }
    if (!c.stream || signal.aborted) return;
    const stream = new CryptoCompareStream({
      ...(c.apiKey ? { apiKey: c.apiKey } : {}),
      url: c.wsUrl,
      subscriptions: subscriptionsOf(c),
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      minReconnectMs: c.minReconnectMs,
      metrics: ctx.metrics,
      log,
      onRecord: (r) => out.push(r),
      onMalformed: (raw, error) => out.malformed("cryptocompare.ws", raw, error),
    });
    await stream.run(signal);
  });
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
