/**
 * The market monitor's config: per detector its parameters, its lifecycle (resolve, cooldown, update) and
 * whether it runs, with defaults; per symbol, overrides of any of them (e.g. market hours for an equity, a
 * wider jump threshold for a thin coin). Validated whole at load, overrides included, naming the field.
 *
 * @module
 */
import { z } from "zod";
import { LifecycleParams } from "./alert_lifecycle.ts";
import * as priceJump from "./price_jump.ts";
import * as sourceDivergence from "./source_divergence.ts";
import * as staleFeed from "./stale_feed.ts";
import * as volatilityRegime from "./volatility_regime.ts";
import * as volumeSpike from "./volume_spike.ts";

/** Per-detector lifecycle defaults: a point event (jump, spike) resolves after a few calm ticks; states at once. */
const LIFECYCLE_DEFAULTS = {
  price_jump: { resolveAfter: 10, cooldownMs: 10_000 },
  volatility_regime: { resolveAfter: 1, cooldownMs: 60_000 },
  volume_spike: { resolveAfter: 10, cooldownMs: 10_000 },
  stale_feed: { resolveAfter: 1, cooldownMs: 0 },
  source_divergence: { resolveAfter: 1, cooldownMs: 30_000 },
} as const;

function detectorSchema<S extends z.ZodRawShape>(
  params: z.ZodObject<S>,
  lifecycle: { resolveAfter: number; cooldownMs: number },
) {
  const l = LifecycleParams.shape;
  return params.extend({
    enabled: z.boolean().default(true).describe("Run this detector."),
    resolveAfter: l.resolveAfter.default(lifecycle.resolveAfter),
    cooldownMs: l.cooldownMs.default(lifecycle.cooldownMs),
    updateGrowth: l.updateGrowth,
  }).strict();
}

/** Each detector's full settings schema, by name. */
export const DETECTOR_SCHEMAS = {
  price_jump: detectorSchema(priceJump.PriceJumpParams, LIFECYCLE_DEFAULTS.price_jump),
  volatility_regime: detectorSchema(
    volatilityRegime.VolatilityRegimeParams,
    LIFECYCLE_DEFAULTS.volatility_regime,
  ),
  volume_spike: detectorSchema(volumeSpike.VolumeSpikeParams, LIFECYCLE_DEFAULTS.volume_spike),
  stale_feed: detectorSchema(staleFeed.StaleFeedParams, LIFECYCLE_DEFAULTS.stale_feed),
  source_divergence: detectorSchema(
    sourceDivergence.SourceDivergenceParams,
    LIFECYCLE_DEFAULTS.source_divergence,
  ),
} as const;

/** Detector names. */
export type DetectorName = keyof typeof DETECTOR_SCHEMAS;
/** Detector names, in the order they run on a tick. */
export const DETECTOR_NAMES = Object.keys(DETECTOR_SCHEMAS) as DetectorName[];
/** Each detector's behaviour version. */
export const DETECTOR_VERSIONS: Readonly<Record<DetectorName, number>> = {
  price_jump: priceJump.VERSION,
  volatility_regime: volatilityRegime.VERSION,
  volume_spike: volumeSpike.VERSION,
  stale_feed: staleFeed.VERSION,
  source_divergence: sourceDivergence.VERSION,
};

/** The resolved settings of each detector. */
export type DetectorSettings = { [D in DetectorName]: z.infer<(typeof DETECTOR_SCHEMAS)[D]> };

const Overrides = z.record(z.string(), z.unknown());

/** The fields of the detectors part of the monitor config (an agent's config adds its own beside them). */
export const MONITOR_DETECTOR_FIELDS = {
  /** Settings per detector; every field has a default. */
  detectors: z.object({
    price_jump: DETECTOR_SCHEMAS.price_jump.default(() => DETECTOR_SCHEMAS.price_jump.parse({})),
    volatility_regime: DETECTOR_SCHEMAS.volatility_regime.default(() =>
      DETECTOR_SCHEMAS.volatility_regime.parse({})
    ),
    volume_spike: DETECTOR_SCHEMAS.volume_spike.default(() => DETECTOR_SCHEMAS.volume_spike.parse({})),
    stale_feed: DETECTOR_SCHEMAS.stale_feed.default(() => DETECTOR_SCHEMAS.stale_feed.parse({})),
    source_divergence: DETECTOR_SCHEMAS.source_divergence.default(() =>
      DETECTOR_SCHEMAS.source_divergence.parse({})
    ),
  }).strict().default(() => defaultDetectors()).describe(
    "Settings per detector (`price_jump`, `volatility_regime`, `volume_spike`, `stale_feed`, " +
      '`source_divergence`); every field has a default — the table in docs/agents.md, "market-monitor".',
  ),
  /** Per symbol, per detector: fields overriding `detectors`, e.g. `{AAPL: {stale_feed: {marketHours: us-equities}}}`. */
  symbols: z.record(
    z.string().min(1),
    z.object({
      price_jump: Overrides.optional(),
      volatility_regime: Overrides.optional(),
      volume_spike: Overrides.optional(),
      stale_feed: Overrides.optional(),
      source_divergence: Overrides.optional(),
    }).strict(),
  ).default({}).describe(
    "Per symbol, per detector: fields overriding `detectors`, e.g. " +
      "`{AAPL: {stale_feed: {marketHours: us-equities}}}`.",
  ),
};

/**
 * Checks what the field schemas cannot: `exit < enter`, and each symbol's overrides merged over `detectors`
 * (issues name `symbols.<symbol>.<detector>.<field>`).
 */
export function checkMonitorDetectors(
  c: { detectors: DetectorSettings; symbols: Record<string, Partial<Record<DetectorName, unknown>>> },
  ctx: z.RefinementCtx,
): void {
  const check = (settings: DetectorSettings["volatility_regime"], path: (string | number)[]) => {
    if (!(settings.exit < settings.enter)) {
      ctx.addIssue({ code: "custom", path, message: "volatility_regime.exit must be below enter" });
    }
  };
  check(c.detectors.volatility_regime, ["detectors", "volatility_regime", "exit"]);
  for (const [symbol, overrides] of Object.entries(c.symbols)) {
    for (const name of DETECTOR_NAMES) {
      const o = overrides[name];
      if (o === undefined) continue;
      const parsed = DETECTOR_SCHEMAS[name].safeParse({ ...c.detectors[name], ...(o as object) });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.addIssue({
            code: "custom",
            path: ["symbols", symbol, name, ...issue.path],
            message: issue.message,
          });
        }
      } else if (name === "volatility_regime") {
        check(parsed.data as DetectorSettings["volatility_regime"], ["symbols", symbol, name, "exit"]);
      }
    }
  }
}

/** The detectors part of the monitor config. */
export const MonitorDetectorsConfig = z.object(MONITOR_DETECTOR_FIELDS).superRefine(checkMonitorDetectors);

/** The validated detectors config. */
export type MonitorDetectorsConfig = z.infer<typeof MonitorDetectorsConfig>;

function defaultDetectors(): DetectorSettings {
  return Object.fromEntries(
    DETECTOR_NAMES.map((n) => [n, DETECTOR_SCHEMAS[n].parse({})]),
  ) as DetectorSettings;
}

/** Resolves each detector's settings for a symbol (defaults, then `detectors`, then the symbol's overrides). */
export function settingsFor(config: MonitorDetectorsConfig, symbol: string): DetectorSettings {
  const overrides = config.symbols[symbol];
  if (!overrides) return config.detectors;
  return Object.fromEntries(DETECTOR_NAMES.map((n) => {
    const o = overrides[n];
    return [
      n,
      o === undefined ? config.detectors[n] : DETECTOR_SCHEMAS[n].parse({ ...config.detectors[n], ...o }),
    ];
  })) as DetectorSettings;
}
