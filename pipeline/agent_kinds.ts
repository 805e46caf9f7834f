/**
 * The agent kinds a pipeline file can name (`agents.<id>.kind`), each an agent module under `actors/agents/`.
 *
 * A kind says whether its agent is a source (`run(ctx)`: it publishes) or a consumer (`receive(batch, ctx)`:
 * a dispatcher feeds it a topic's partitions), and which connection's settings (API keys, base URLs) it takes
 * as defaults for its own config.
 *
 * @module
 */
import { ConfigError } from "../core/config_error.ts";
import type { ConnectionsConfig } from "../core/config_schema.ts";

/** How the pipeline runs one kind of agent. */
export interface AgentKind {
  /** The agent module, loaded into the Worker (and on the main thread for its spec and grants). */
  module: URL;
  role: "source" | "consumer";
  /** A source that must run once in the cluster by default (`agents.<id>.singleton` overrides it). */
  singleton?: boolean;
  /** Defaults for the agent's config taken from `connections` (the agent's own config wins). */
  fromConnections?: (connections: ConnectionsConfig) => Record<string, unknown>;
}

const agent = (file: string) => new URL(`../actors/agents/${file}`, import.meta.url);

/** Drops undefined values so they do not override an agent's own defaults. */
function defined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

/** Every kind, by the name used in `agents.<id>.kind`. */
export const AGENT_KINDS: Readonly<Record<string, AgentKind>> = {
  synthetic: { module: agent("synthetic.ts"), role: "source" },
  replay: { module: agent("replay.ts"), role: "source", singleton: true },
  cryptocompare: {
    module: agent("cryptocompare.ts"),
    role: "source",
    singleton: true,
    fromConnections: (c) => defined({ apiKey: c.cryptocompare?.apiKey, url: c.cryptocompare?.url }),
  },
  twelvedata: {
    module: agent("twelvedata.ts"),
    role: "source",
    singleton: true,
    fromConnections: (c) => defined({ apiKey: c.twelvedata?.apiKey, url: c.twelvedata?.url }),
  },
  "postgres-sink": { module: agent("postgres_sink.ts"), role: "consumer" },
  "clickhouse-sink": { module: agent("clickhouse_sink.ts"), role: "consumer" },
  "bar-builder": { module: agent("bar_builder.ts"), role: "consumer" },
  "market-monitor": { module: agent("market_monitor.ts"), role: "consumer" },
};

/**
 * The kind named by an agent.
 * @throws {ConfigError} naming `agents.<id>.kind` and the known kinds when the kind is unknown
 */
export function agentKind(id: string, kind: string): AgentKind {
  const found = AGENT_KINDS[kind];
  if (!found) {
    throw new ConfigError("the pipeline file", [{
      path: `agents.${id}.kind`,
      message: `unknown kind "${kind}" (known: ${Object.keys(AGENT_KINDS).join(", ")})`,
    }]);
  }
  return found;
}

/**
 * Whether an agent runs once in the cluster: `agents.<id>.singleton`, else its kind's default.
 * @throws {ConfigError} naming `agents.<id>.singleton` when a consuming agent is made a singleton (consumers share
 *   their partitions through their group instead)
 */
export function isSingleton(id: string, kind: AgentKind, singleton: boolean | undefined): boolean {
  if (singleton && kind.role === "consumer") {
    throw new ConfigError("the pipeline file", [{
      path: `agents.${id}.singleton`,
      message:
        "only a source can be a singleton; consuming agents share their partitions through their group",
    }]);
  }
  return singleton ?? kind.singleton ?? false;
}
