/**
 * The process's one Prometheus registry and get-or-create helpers, so modules (and restarted actors)
 * never register a metric twice. Served on `/metrics` by the HTTP server.
 *
 * @module
 */
import {
  collectDefaultMetrics,
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  type Metric,
  Registry,
} from "prom-client";

/** The one registry of this process. */
export const registry: Registry = new Registry();

/** The `Content-Type` of the Prometheus text exposition served on `/metrics`. */
export const METRICS_CONTENT_TYPE: string = registry.contentType;

let defaultsEnabled = false;

/**
 * Adds prom-client's default process metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_heap_size_used_bytes`, ...). The event-loop-lag gauges are dropped: under Deno they report
 * NaN. Calling it twice is harmless.
 *
 * @returns true when the defaults are (now) registered
 */
export function enableDefaultMetrics(): boolean {
  if (defaultsEnabled) return true;
  try {
    collectDefaultMetrics({ register: registry });
  } catch {
    return false; // not supported by this runtime: serve the application metrics only
  }
  for (const m of registry.getMetricsAsArray()) {
    const name = (m as unknown as { name: string }).name;
    if (name.startsWith("nodejs_eventloop_lag")) registry.removeSingleMetric(name);
  }
  defaultsEnabled = true;
  return true;
}

/**
 * Gets the counter `name`, creating it on first use.
 *
 * @param config prom-client counter options (`name`, `help`, `labelNames`); `registers` is ignored
 * @returns the counter registered in {@link registry}
 * @throws {TypeError} when `name` is already registered as another type or with other label names
 *
 * @example
 * ```ts
 * const messagesIn = counter({ name: "qistream_messages_in_total", help: "Records received", labelNames: ["agent"] });
 * messagesIn.inc({ agent: "postgres-sink" }, 500);
 * ```
 */
export function counter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
  return getOrCreate(config, Counter, "counter", () => new Counter({ ...config, registers: [registry] }));
}

/**
 * Gets the gauge `name`, creating it on first use.
 *
 * @param config prom-client gauge options
 * @returns the gauge registered in {@link registry}
 * @throws {TypeError} when `name` is already registered as another type or with other label names
 */
export function gauge<T extends string>(config: GaugeConfiguration<T>): Gauge<T> {
  return getOrCreate(config, Gauge, "gauge", () => new Gauge({ ...config, registers: [registry] }));
}

/**
 * Gets the histogram `name`, creating it on first use.
 *
 * @param config prom-client histogram options (`buckets` in seconds for durations)
 * @returns the histogram registered in {@link registry}
 * @throws {TypeError} when `name` is already registered as another type or with other label names
 */
export function histogram<T extends string>(config: HistogramConfiguration<T>): Histogram<T> {
  return getOrCreate(
    config,
    Histogram,
    "histogram",
    () => new Histogram({ ...config, registers: [registry] }),
  );
}

/**
 * The current Prometheus text exposition of {@link registry}.
 *
 * @returns the `/metrics` body
 */
export function metricsText(): Promise<string> {
  return registry.metrics();
}

// deno-lint-ignore no-explicit-any
function getOrCreate<M extends Metric<any>>(
  config: { name: string; labelNames?: readonly string[] },
  // deno-lint-ignore no-explicit-any
  ctor: abstract new (...args: any[]) => M,
  type: string,
  create: () => M,
): M {
  const existing = registry.getSingleMetric(config.name);
  if (existing === undefined) return create();
  if (!(existing instanceof ctor)) {
    throw new TypeError(
      `Cannot register metric ${config.name} as a ${type}: it is already registered as another type`,
    );
  }
  const had = [...((existing as unknown as { labelNames?: string[] }).labelNames ?? [])].sort().join(",");
  const wants = [...(config.labelNames ?? [])].sort().join(",");
  if (had !== wants) {
    throw new TypeError(
      `Cannot register metric ${config.name} with labels [${wants}]: already registered with labels [${had}]`,
    );
  }
  return existing;
}
