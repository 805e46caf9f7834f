/**
 * Cross-cutting plumbing shared by every part of qistream: configuration (`pipeline.yaml`), logging
 * (JSON Lines via LogTape, redacted, with correlation ids), the process's Prometheus registry, readiness
 * checks, and the HTTP server (`/metrics`, `/healthz`, `/readyz`, mounted handlers).
 *
 * @module
 */
export { ConfigError, type ConfigProblem } from "./config_error.ts";
export {
  type AgentConfig,
  BATCH_DEFAULTS,
  type Config,
  configSchema,
  CONNECTION_NAMES,
  type ConnectionName,
  type ConnectionsConfig,
  type TopicConfig,
} from "./config_schema.ts";
export {
  type ConfigCheck,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  type LoadConfigOptions,
  type LoadedConfig,
  parseConfig,
  type ParseConfigOptions,
  SECRET_FIELDS,
  zodProblems,
} from "./config_loader.ts";
export { interpolateEnv, type InterpolationResult } from "./config_interpolate.ts";
export { applyEnvOverrides, ENV_OVERRIDES, type EnvOverride } from "./config_env_overrides.ts";
export { type ActiveAgents, activeAgents } from "./config_active_agents.ts";
export {
  CORRELATION_ID,
  currentCorrelationId,
  getLogger,
  type LoggingOptions,
  redactingJsonLinesSink,
  ROOT_CATEGORY,
  setupLogging,
  withCorrelationId,
} from "./log.ts";
export { isSecretKey, REDACTED, redactText, redactValue, registerSecrets } from "./log_redact.ts";
export {
  counter,
  enableDefaultMetrics,
  gauge,
  histogram,
  METRICS_CONTENT_TYPE,
  metricsText,
  registry,
} from "./metrics.ts";
export { type CheckResult, type ReadinessCheck, ReadinessChecks, type ReadinessReport } from "./readiness.ts";
export { type HttpHandler, type HttpServer, type HttpServerOptions, startHttpServer } from "./http_server.ts";
