/**
 * The lifecycle of one alert, per dedup key (detector + symbol + source or source pair): a firing signal
 * **opens** it; while open, a rise in severity or a new peak (≥ `updateGrowth` × the last reported value)
 * **updates** it; `resolveAfter` non-firing signals in a row **resolve** it. After a resolve, firing signals
 * within `cooldownMs` (event time) are suppressed, so a flapping condition does not page again and again.
 * Each transition carries a sequence number; an alert's id (`<dedupKey>@<openedTs>#<sequence>`) is therefore
 * the same on every run over the same input, and a consumer can deduplicate a redelivered alert by id.
 *
 * @module
 */
import { z } from "zod";
import type { Severity, Signal } from "./detector.ts";

/** Lifecycle parameters (per detector, overridable per symbol). */
export const LifecycleParams = z.object({
  /** Non-firing signals in a row that resolve an open alert. */
  resolveAfter: z.number().int().min(1).default(5),
  /** After a resolve, firing within this many ms of event time is suppressed. */
  cooldownMs: z.number().int().min(0).default(30_000),
  /** An open alert is updated when its statistic reaches this multiple of the last one reported. */
  updateGrowth: z.number().gt(1).default(1.5),
}).strict();

/** The validated parameters. */
export type LifecycleParams = z.infer<typeof LifecycleParams>;

/** Alert statuses, as in the `market.alert` schema. */
export type AlertStatus = "OPEN" | "UPDATE" | "RESOLVE";

/** Plain state of one dedup key. */
export interface LifecycleState {
  open: { openedTs: number; sequence: number; severity: Severity; peak: number; calm: number } | null;
  /** Event time of the last resolve. */
  resolvedTs: number | null;
  /** Signals suppressed by the cooldown since the last resolve. */
  suppressed: number;
}

/** A transition to publish. */
export interface LifecycleEvent {
  status: AlertStatus;
  openedTs: number;
  sequence: number;
  severity: Severity;
  signal: Signal;
}

/** A fresh state. */
export function initialLifecycle(): LifecycleState {
  return { open: null, resolvedTs: null, suppressed: 0 };
}

const RANK: Record<Severity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };

/**
 * Feeds one signal; returns the transition it causes, `"suppressed"` when the cooldown swallowed a firing
 * signal, or undefined.
 */
export function advance(
  s: LifecycleState,
  signal: Signal,
  p: LifecycleParams,
): LifecycleEvent | "suppressed" | undefined {
  const o = s.open;
  if (o === null) {
    if (!signal.firing) return undefined;
    if (s.resolvedTs !== null && signal.ts < s.resolvedTs + p.cooldownMs) {
      s.suppressed++;
      return "suppressed";
    }
    s.open = {
      openedTs: signal.ts,
      sequence: 0,
      severity: signal.severity,
      peak: Math.abs(signal.value),
      calm: 0,
    };
    s.suppressed = 0;
    return { status: "OPEN", openedTs: signal.ts, sequence: 0, severity: signal.severity, signal };
  }
  if (signal.firing) {
    o.calm = 0;
    const magnitude = Math.abs(signal.value);
    const worse = RANK[signal.severity] > RANK[o.severity];
    if (!worse && !(magnitude >= p.updateGrowth * o.peak)) return undefined;
    o.sequence++;
    if (worse) o.severity = signal.severity;
    o.peak = Math.max(o.peak, magnitude);
    return { status: "UPDATE", openedTs: o.openedTs, sequence: o.sequence, severity: o.severity, signal };
  }
  if (++o.calm < p.resolveAfter) return undefined;
  s.open = null;
  s.resolvedTs = signal.ts;
  return { status: "RESOLVE", openedTs: o.openedTs, sequence: o.sequence + 1, severity: o.severity, signal };
}
