/**
 * What every detector shares: the observation it is fed (one tick, by event time, with where it came from)
 * and the signal it returns. A detector is a small deterministic state machine: a plain, JSON-serialisable
 * state object and a `step(state, observation, params)` function — no clock, no randomness — so the same
 * observations in the same order give the same signals, and a checkpointed state resumes exactly.
 *
 * @module
 */

/** Where an observation came from: the log position of the record (provenance of an alert). */
export interface InputRef {
  topic: string;
  partition: number;
  offset: string;
}

/** One tick as the detectors see it. */
export interface Observation {
  symbol: string;
  source: string;
  /** Event time, ms since the epoch. */
  ts: number;
  price: number;
  /** The source's (cumulative, windowed) volume, when it sends one. */
  volume: number | null;
  ref: InputRef;
}

/** Alert severities, as in the `market.alert` schema. */
export type Severity = "INFO" | "WARNING" | "CRITICAL";

/** A detector's verdict on one observation (or on the passage of event time, for the stale feed). */
export interface Signal {
  /** The condition holds now. */
  firing: boolean;
  /** Event time the verdict is about. */
  ts: number;
  /** Severity while firing. */
  severity: Severity;
  /** The detector's statistic (e.g. the robust z-score) and the threshold it is compared with. */
  value: number;
  threshold: number;
  /** One line for a person. */
  message: string;
  /** The values the detector saw, by name (e.g. `return`, `median`, `mad`). */
  observed: Record<string, number>;
  /** The records that triggered it. */
  inputs: InputRef[];
}

/** `CRITICAL` once the statistic is `factor` times past its threshold, else `WARNING`. */
export function severityOf(value: number, threshold: number, factor = 2): Severity {
  return Math.abs(value) >= factor * Math.abs(threshold) ? "CRITICAL" : "WARNING";
}
