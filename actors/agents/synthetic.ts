/**
 * The synthetic market agent: a seeded geometric Brownian motion per symbol ({@linkcode SyntheticMarket}),
 * published keyed by symbol to `topics.tick`. The default source and the benchmark load. It needs no
 * permissions at all, injects occasional anomalies (see `anomalies`) for the market monitor, and it cannot fail on its own: it stops when the actor stops (after publishing what is
 * pending) or after `maxTicks`.
 *
 * @module
 */
import { z } from "zod";
import type { AgentContext } from "../runtime/agent_context.ts";
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { SyntheticMarket } from "../sources/synthetic_market.ts";
import { publishingFields, SourceOutput, sourceTopics } from "./_source_agent.ts";

const symbolSchema = z.union([
  z.string().min(1),
  z.object({
    symbol: z.string().min(1),
    price: z.number().positive(),
    drift: z.number().optional(),
    volatility: z.number().min(0).optional(),
  }),
]);

/** Config of the synthetic agent. */
export const SyntheticConfig = z.object({
  ...publishingFields,
  symbols: z.array(symbolSchema).min(1).default(["BTC-USD", "ETH-USD", "AAPL", "EUR-USD"]).describe(
    "Instruments: names (known start prices, else 100) or `{symbol, price, drift?, volatility?}`.",
  ),
  seed: z.number().int().default(42).describe("Random seed."),
  ratePerSecond: z.number().min(0).default(10).describe(
    "Ticks per second over all symbols; 0 = as fast as publishing allows.",
  ),
  drift: z.number().default(0.05).describe("Annualised drift μ."),
  volatility: z.number().min(0).default(0.6).describe("Annualised volatility σ."),
  spreadBps: z.number().min(0).default(2).describe("Bid/ask spread, basis points."),
  startTs: z.number().int().optional().describe(
    "First tick's timestamp (ms); default when the actor starts.",
  ),
  anomalies: z.object({
    rate: z.number().min(0).max(1).default(0.002).describe(
      "Probability per tick that one starts (0.002: about one per 500 ticks, every 10 s at 50 ticks/s).",
    ),
    kinds: z.array(z.enum(["jump", "volume", "gap", "volatility"])).min(1).optional().describe(
      "Which kinds to inject; default all.",
    ),
    jumpFraction: z.number().positive().max(0.5).default(0.02).describe(
      "Jump size, a fraction of the price.",
    ),
    gapTicks: z.number().int().min(1).default(40).describe("Ticks of the symbol a gap silences."),
  }).nullable().default({ rate: 0.002, jumpFraction: 0.02, gapTicks: 40 }).describe(
    "Occasional injected anomalies (price jumps, volume spikes, short gaps, volatility bursts) so the market " +
      "monitor has something to find; `null` turns them off. Seeded like the walk: the same seed, the same anomalies.",
  ),
  maxTicks: z.number().int().min(0).optional().describe(
    "Stop (a normal exit) after this many ticks; default never.",
  ),
});

/** The validated config. */
export type SyntheticConfig = z.infer<typeof SyntheticConfig>;

/** The synthetic agent's spec: a source with no permissions at all. */
export const spec: AgentKindSpec<SyntheticConfig> = defineAgent({
  name: "synthetic",
  summary: "Seeded geometric Brownian motion per symbol, published to market.ticks",
  description: "The default source and the benchmark load: reproducible for a seed, needs no network, and " +
    "stops only when the actor stops (after publishing what is pending) or after `maxTicks`.",
  role: "source",
  config: SyntheticConfig,
  examples: [
    {
      title: "Three instruments at 50 ticks/s",
      config: { symbols: ["BTC-USD", "ETH-USD", "AAPL"], ratePerSecond: 50 },
    },
    {
      title: "A fixed start price and volatility",
      config: { symbols: [{ symbol: "XYZ", price: 12.5, volatility: 0.3 }] },
    },
  ],
  topics: sourceTopics,
  permissions: {},
});

/**
 * Generates and publishes ticks until the actor stops or `maxTicks` were published.
 *
 * @param ctx the agent context
 */
export async function run(ctx: AgentContext<SyntheticConfig>): Promise<void> {
  const c = ctx.config;
  const out = new SourceOutput(ctx, c, "synthetic");
  const market = new SyntheticMarket({
    symbols: c.symbols.map((s) => typeof s === "string" ? s : { ...s }),
    seed: c.seed,
    ratePerSecond: c.ratePerSecond,
    drift: c.drift,
    volatility: c.volatility,
    spreadBps: c.spreadBps,
    ...(c.startTs !== undefined ? { startTs: c.startTs } : {}),
    ...(c.maxTicks !== undefined ? { maxTicks: c.maxTicks } : {}),
    ...(c.anomalies ? { anomalies: c.anomalies } : {}),
    metrics: ctx.metrics,
  });
  ctx.log.info(
    "synthetic market: {symbols} symbols at {rate} ticks/s (seed {seed}, anomaly rate {anomalies})",
    {
      anomalies: c.anomalies?.rate ?? 0,
      symbols: c.symbols.length,
      rate: c.ratePerSecond === 0 ? "unpaced" : c.ratePerSecond,
      seed: c.seed,
    },
  );
  await out.run((signal) => market.run((r) => out.record(r), signal));
}
