/**
 * The stream connector: the one door between qistream and the durable log. Re-exports the contract
 * (`types.ts`), its typed errors, its metrics and the implementations.
 *
 * @module
 */
export type * from "./types.ts";
export * from "./errors.ts";
export { type ConnectorMetrics, connectorMetrics } from "./connector_metrics.ts";
export * from "./kafka/mod.ts";
export { LagMonitor, type LagMonitorOptions, type LagTarget } from "./lag_monitor.ts";
export { nextToConsume, partitionLag } from "./partition_lag.ts";
