/**
 * Which configured agents should run: enabled, and every connection they `require` is configured.
 *
 * @module
 */
import type { AgentConfig, Config } from "./config_schema.ts";

/** The agents to start and those skipped, with the reason. */
export interface ActiveAgents {
  /** Agents to start, in file order. */
  readonly start: ReadonlyArray<{ readonly id: string; readonly agent: AgentConfig }>;
  /** Agents not started and why, e.g. `requires connections.clickhouse, which is not configured`. */
  readonly skipped: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
}

/**
 * Splits `config.agents` into those to start and those skipped (`enabled: false`, or a required
 * connection absent — e.g. `clickhouse-sink` without `CLICKHOUSE_URL`).
 *
 * @param config a validated configuration
 * @returns the agents to start and the skipped ones with reasons
 *
 * @example
 * ```ts
 * const { start, skipped } = activeAgents(config);
 * for (const s of skipped) log.info("agent {id} not started: {reason}", s);
 * ```
 */
export function activeAgents(config: Config): ActiveAgents {
  const start: Array<{ id: string; agent: AgentConfig }> = [];
  const skipped: Array<{ id: string; reason: string }> = [];
  for (const [id, agent] of Object.entries(config.agents)) {
    if (!agent.enabled) {
      skipped.push({ id, reason: "enabled: false" });
      continue;
    }
    const missing = agent.requires.filter((name) => config.connections[name] === undefined);
    if (missing.length > 0) {
      const list = missing.map((m) => `connections.${m}`).join(", ");
      skipped.push({ id, reason: `requires ${list}, which is not configured` });
      continue;
    }
    start.push({ id, agent });
  }
  return { start, skipped };
}
