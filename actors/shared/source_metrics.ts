/**
 * The metric families every market-data source reports, written through a small sink so the same code
 * runs in the main thread (the process registry, {@link registrySink}) and inside an actor's Worker
 * (`ctx.metrics`, which has the same `inc`/`observe` shape).
 *
 * @module
 */
import { counter, histogram } from "../../core/metrics.ts";

/** Where metric observations go: `ctx.metrics` in a Worker, {@link registrySink} in the main thread. */
export interface MetricsSink {
  /** Adds `value` (default 1) to a counter. */
  inc(name: string, labels?: Record<string, string>, value?: number): void;
  /** Observes a histogram value (seconds for durations). */
  observe(name: string, value: number, labels?: Record<string, string>): void;
}

/** Upstream requests by status (`ok`, an HTTP status, `auth`, `rate_limited`, `network`...). */
export const UPSTREAM_REQUESTS = "source_upstream_requests_total";
/** Records emitted, by kind (`tick`, `trade`, `bar`). */
export const RECORDS_OUT = "source_records_total";
/** Upstream request latency in seconds. */
export const UPSTREAM_LATENCY = "source_upstream_latency_seconds";
/** Upstream payloads that failed validation. */
export const MALFORMED = "source_malformed_total";
/** Websocket reconnects, by reason. */
export const RECONNECTS = "source_reconnects_total";
/** Sequence gaps detected in a stream. */
export const SEQUENCE_GAPS = "source_sequence_gaps_total";
/** Symbols an upstream refused to subscribe. */
export const SUBSCRIBE_FAILURES = "source_subscribe_failures_total";

const HELP: Record<string, [string, string[]]> = {
  [UPSTREAM_REQUESTS]: ["Upstream requests by outcome", ["source", "status"]],
  [RECORDS_OUT]: ["Normalised records emitted by a source", ["source", "kind"]],
  [MALFORMED]: ["Malformed upstream payloads", ["source"]],
  [RECONNECTS]: ["Websocket reconnects by reason", ["source", "reason"]],
  [SEQUENCE_GAPS]: ["Sequence gaps detected in a stream", ["source"]],
  [SUBSCRIBE_FAILURES]: ["Symbols the upstream refused to subscribe", ["source"]],
};

/**
 * A sink writing into the process's Prometheus registry (core/metrics.ts).
 *
 * @returns the sink
 */
export function registrySink(): MetricsSink {
  return {
    inc(name, labels = {}, value = 1) {
      const [help, labelNames] = HELP[name] ?? [name, Object.keys(labels)];
      counter({ name, help, labelNames }).inc(labels, value);
    },
    observe(name, value, labels = {}) {
      histogram({
        name,
        help: "Upstream request latency",
        labelNames: Object.keys(labels),
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }).observe(labels, value);
    },
  };
}

/** A sink that keeps counters in memory: for tests and for sources used outside the pipeline. */
export class MemoryMetrics implements MetricsSink {
  readonly counters = new Map<string, number>();
  readonly observations = new Map<string, number[]>();

  /** @inheritdoc */
  inc(name: string, labels: Record<string, string> = {}, value = 1): void {
    const key = MemoryMetrics.key(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + value);
  }

  /** @inheritdoc */
  observe(name: string, value: number, labels: Record<string, string> = {}): void {
    const key = MemoryMetrics.key(name, labels);
    const list = this.observations.get(key) ?? [];
    list.push(value);
    this.observations.set(key, list);
  }

  /**
   * The counter's value for exactly these labels.
   *
   * @param name metric name
   * @param labels label set
   * @returns the value, 0 when never incremented
   */
  get(name: string, labels: Record<string, string> = {}): number {
    return this.counters.get(MemoryMetrics.key(name, labels)) ?? 0;
  }

  /**
   * A stable key for a metric and label set.
   *
   * @param name metric name
   * @param labels label set
   * @returns `name{a="1",b="2"}`
   */
  static key(name: string, labels: Record<string, string>): string {
    const parts = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
    return `${name}{${parts.join(",")}}`;
  }
}
