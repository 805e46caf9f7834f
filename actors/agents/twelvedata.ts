/**
 * The Twelve Data agent: at start a REST snapshot (`quote` per symbol, which also proves the API key) and an
 * optional `time_series` backfill, under the per-minute credit budget ({@linkcode TwelveDataClient}); then the
 * websocket price stream ({@linkcode TwelveDataStream}), published keyed by symbol (`EUR/USD` → `EUR-USD`).
 * Heartbeats, reconnects and partial subscribe failures are the stream's business; malformed payloads go to
 * the dead-letter topic.
 *
 * Its Worker may reach exactly the hosts of the configured `url` and `wsUrl` (its spec's `permissions`). A refused
 * API key makes `run()` reject, so the supervisor sees a crash with the upstream's message.
 *
 * @module
 */
import { z } from "zod";
import type { AgentContext } from "../runtime/agent_context.ts";
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { TWELVEDATA_REST_URL, TwelveDataClient } from "../sources/twelvedata_client.ts";
import { TWELVEDATA_WS_URL, TwelveDataStream } from "../sources/twelvedata_stream.ts";
import { UpstreamError } from "../shared/upstream_error.ts";
import { netHost, publishingFields, SourceOutput, sourceTopics } from "./_source_agent.ts";

const httpUrl = z.string().regex(/^https?:\/\/[^/]/, "expected an http(s) URL");
const wsUrl = z.string().regex(/^wss?:\/\/[^/]/, "expected a ws(s) URL");
const INTERVALS = [
  "1min",
  "5min",
  "15min",
  "30min",
  "45min",
  "1h",
  "2h",
  "4h",
  "1day",
  "1week",
  "1month",
] as const;

/** Config of the Twelve Data agent. */
export const TwelveDataConfig = z.object({
  ...publishingFields,
  apiKey: z.string().optional().transform((v) => v || undefined).describe(
    "API key (`${TWELVEDATA_API_KEY}`); empty means none.",
  ),
  url: httpUrl.default(TWELVEDATA_REST_URL).describe("REST base URL."),
  wsUrl: wsUrl.default(TWELVEDATA_WS_URL).describe("Streaming URL."),
  symbols: z.array(z.string().min(1)).min(1).default(["AAPL", "EUR/USD", "BTC/USD"]).describe(
    "Symbols, Twelve Data (`EUR/USD`) or normalised (`EUR-USD`) spelling.",
  ),
  creditsPerMinute: z.number().int().min(1).default(8).describe(
    "The plan's REST credits per minute (1 per symbol per request).",
  ),
  snapshot: z.boolean().default(true).describe(
    "Fetch a `quote` per symbol at start and publish it as a tick (also checks the API key).",
  ),
  backfill: z.object({
    interval: z.enum(INTERVALS).default("1min"),
    outputsize: z.number().int().min(0).max(5000).default(0),
  }).prefault({}).describe(
    "Bars to fetch per symbol at start (`time_series`, published to `topics.bar`); 0 = none.",
  ),
  stream: z.boolean().default(true).describe("Run the price stream (after the snapshot and backfill)."),
  heartbeatMs: z.number().int().min(10).default(10_000).describe(
    "Stream heartbeat period; no message for 3 periods forces a reconnect.",
  ),
  retry: z.object({
    attempts: z.number().int().min(1).default(3),
    initialMs: z.number().int().min(0).default(500),
  }).prefault({}).describe("REST retries of retriable failures."),
});

/** The validated config. */
export type TwelveDataConfig = z.infer<typeof TwelveDataConfig>;

/** The Twelve Data agent's spec: a source whose Worker may reach exactly the configured REST and streaming hosts. */
export const spec: AgentKindSpec<TwelveDataConfig> = defineAgent({
  name: "twelvedata",
  summary: "Twelve Data REST snapshot/backfill under a credit budget, then the websocket price stream",
  role: "source",
  config: TwelveDataConfig as z.ZodType<TwelveDataConfig>,
  connections: {
    defaults: { twelvedata: (c) => ({ apiKey: c.apiKey, url: c.url }) },
  },
  topics: sourceTopics,
  singleton: true,
  permissions: (config) => ({ net: [...new Set([netHost(config.url), netHost(config.wsUrl)])] }),
});

/**
 * Snapshot and backfill over REST, then streams until the actor stops.
 *
 * @param ctx the agent context
 * @throws {UpstreamError} `auth` when the API key is refused
 */
export async function run(ctx: AgentContext<TwelveDataConfig>): Promise<void> {
  const c = ctx.config;
  const out = new SourceOutput(ctx, c, "twelvedata");
  const log = ctx.log;
  const stored = offsetOf(out.storedPosition);
  let position: TwelveDataOffset = stored;
  const advance = (next: Partial<TwelveDataOffset>) => (position = { ...position, ...next });
  await out.run(async (signal) => {
    const client = new TwelveDataClient({
      ...(c.apiKey ? { apiKey: c.apiKey } : {}),
      baseUrl: c.url,
      creditsPerMinute: c.creditsPerMinute,
      retry: c.retry,
      metrics: ctx.metrics,
      log,
      onMalformed: (raw, error) => out.malformed("twelvedata.rest", raw, error),
    });
    // One symbol's failure (unknown symbol, upstream down) must not stop the others; a refused key stops all.
    const each = async (what: string, fn: (symbol: string) => Promise<void>) => {
      for (const symbol of c.symbols) {
        if (signal.aborted) return;
        try {
          await fn(symbol);
        } catch (e) {
          if (signal.aborted) return;
          if (!(e instanceof UpstreamError) || e.kind === "auth") throw e;
          log.warn("{what} of {symbol} skipped: {error}", { what, symbol, error: e.message });
        }
      }
    };
    if (c.snapshot) {
      await each("quote", async (symbol) => {
        const tick = await client.quote(symbol, signal);
        if (tick) await out.record({ kind: "tick", value: tick });
      });
    }
    if (c.backfill.outputsize > 0) {
      await each("time_series", async (symbol) => {
        const bars = await client.timeSeries(
          { symbol, interval: c.backfill.interval, outputsize: c.backfill.outputsize },
          signal,
        );
        const correlationId = crypto.randomUUID();
        const key = `${symbol}~${c.backfill.interval}`;
        const since = position.backfill[key];
        for (const bar of bars) {
          if (since !== undefined && bar.ts <= since) continue; // published before the restart
          const at = advance({ backfill: { ...position.backfill, [key]: bar.ts } });
          await out.record({ kind: "bar", value: bar }, correlationId, at);
        }
      });
    }
    if (!c.stream || signal.aborted) return;
    const stream = new TwelveDataStream({
      ...(c.apiKey ? { apiKey: c.apiKey } : {}),
      url: c.wsUrl,
      symbols: c.symbols,
      heartbeatMs: c.heartbeatMs,
      metrics: ctx.metrics,
      log,
      onRecord: (r) => out.push(r, undefined, advance({ stream: { at: Date.now() } })),
      onMalformed: (raw, error) => out.malformed("twelvedata.ws", raw, error),
    });
    await stream.run(signal);
  });
}

/**
 * The Twelve Data agent's source offset: per backfilled `symbol~interval` the newest bar's time (a restart
 * backfills only newer bars), and when the stream's last price arrived. The price stream has no sequence and
 * Twelve Data replays nothing on subscribe, so there is nothing to drop after a restart.
 */
export interface TwelveDataOffset {
  backfill: Record<string, number>;
  stream?: { at: number };
}

function offsetOf(stored: unknown): TwelveDataOffset {
  const o = stored as Partial<TwelveDataOffset> | undefined;
  return {
    backfill: typeof o?.backfill === "object" && o.backfill !== null ? o.backfill : {},
    ...(o?.stream && typeof o.stream.at === "number" ? { stream: o.stream } : {}),
  };
}
