/**
 * Prometheus metrics of a stream connector: records and bytes in and out per topic, produce latency,
 * consumer lag per partition and reconnects. Every implementation records into the same families, labelled
 * with `connector` (its kind), so dashboards work whichever log is behind.
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The connector metric families, bound to one registry. */
export interface ConnectorMetrics {
  /** `qistream_records_out_total{connector,topic}`: records acknowledged by the log. */
  recordsOut: Counter<"connector" | "topic">;
  /** `qistream_records_in_total{connector,topic,group}`: records delivered to subscribers. */
  recordsIn: Counter<"connector" | "topic" | "group">;
  /** `qistream_bytes_out_total{connector,topic}`: key + value bytes acknowledged. */
  bytesOut: Counter<"connector" | "topic">;
  /** `qistream_bytes_in_total{connector,topic,group}`: key + value bytes delivered. */
  bytesIn: Counter<"connector" | "topic" | "group">;
  /** `qistream_produce_latency_seconds{connector}`: from `publish()` to acknowledgement. */
  produceLatency: Histogram<"connector">;
  /**
   * `qistream_consumer_lag{connector,group,topic,partition}`: high watermark minus the group's committed offset
   * (its low watermark when it has none), measured on a timer by `lag_monitor.ts`.
   */
  consumerLag: Gauge<"connector" | "group" | "topic" | "partition">;
  /** `qistream_consumer_lag_seconds{connector,group,topic,partition}`: age of the oldest unconsumed record. */
  consumerLagSeconds: Gauge<"connector" | "group" | "topic" | "partition">;
  /** `qistream_connector_reconnects_total{connector}`: reconnections after a lost connection. */
  reconnects: Counter<"connector">;
}

/** Byte size of a key or value as counted by the byte counters (`null` counts 0). */
export function payloadBytes(bytes: Uint8Array | string | null | undefined): number {
  if (bytes === null || bytes === undefined) return 0;
  return typeof bytes === "string" ? new TextEncoder().encode(bytes).length : bytes.byteLength;
}

/**
 * Gets (or creates, once per registry) the connector metric families.
 *
 * @param registry the process registry (`/metrics`)
 * @returns the families; calling it again with the same registry returns the same metrics
 * @example
 * ```ts
 * import { Registry } from "prom-client";
 * const metrics = connectorMetrics(new Registry());
 * metrics.recordsOut.inc({ connector: "kafka", topic: "market.ticks" }, 10);
 * ```
 */
export function connectorMetrics(registry: Registry): ConnectorMetrics {
  const cached = cache.get(registry);
  if (cached) return cached;
  const metrics: ConnectorMetrics = {
    recordsOut: counter(registry, "qistream_records_out_total", "Records acknowledged by the log.", [
      "connector",
      "topic",
    ]),
    recordsIn: counter(registry, "qistream_records_in_total", "Records delivered to subscribers.", [
      "connector",
      "topic",
      "group",
    ]),
    bytesOut: counter(registry, "qistream_bytes_out_total", "Key and value bytes acknowledged by the log.", [
      "connector",
      "topic",
    ]),
    bytesIn: counter(registry, "qistream_bytes_in_total", "Key and value bytes delivered to subscribers.", [
      "connector",
      "topic",
      "group",
    ]),
    produceLatency: (registry.getSingleMetric("qistream_produce_latency_seconds") as
      | Histogram<"connector">
      | undefined) ??
      new Histogram({
        name: "qistream_produce_latency_seconds",
        help: "Time from publish() to durable acknowledgement.",
        labelNames: ["connector"],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
    consumerLag: gauge(
      registry,
      "qistream_consumer_lag",
      "Records between the partition's high watermark and the group's committed offset (low watermark " +
        "when it has none), measured from the log's offsets.",
      ["connector", "group", "topic", "partition"],
    ),
    consumerLagSeconds: gauge(
      registry,
      "qistream_consumer_lag_seconds",
      "Age of the oldest record the group has not committed (0 when it is caught up).",
      ["connector", "group", "topic", "partition"],
    ),
    reconnects: counter(
      registry,
      "qistream_connector_reconnects_total",
      "Reconnections after a lost connection.",
      [
        "connector",
      ],
    ),
  };
  cache.set(registry, metrics);
  return metrics;
}

const cache = new WeakMap<Registry, ConnectorMetrics>();

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
}
