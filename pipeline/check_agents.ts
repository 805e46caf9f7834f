/**
 * What the pipeline file says about each agent, checked against its kind's spec at load, before anything is
 * created, started or listened on: the kind exists; the agent's `config` (with the defaults the kind takes from
 * `connections`) passes the kind's schema; the tools it names exist and allow what the kind calls; the topics
 * the kind writes for that config are declared and listed in `publish`; a consumer subscribes; the
 * connections the kind requires are configured. Every problem is reported with its field path, all in one
 * report (see {@linkcode agentChecks}, which the loader runs as its `check`).
 *
 * {@linkcode resolveAgent} is the same reading for a valid file: what the pipeline starts the agent with.
 *
 * @module
 */
import type { AgentKindSpec } from "../actors/runtime/agent_spec.ts";
import { connectionDefaults, specPermissions } from "../actors/runtime/agent_spec.ts";
import { isToolAllowed } from "../tools/tool_access.ts";
import type { ConfigCheck } from "../core/config_loader.ts";
import { zodProblems } from "../core/config_loader.ts";
import type { ConfigProblem } from "../core/config_error.ts";
import {
  type AgentConfig,
  agentSchema,
  BATCH_DEFAULTS,
  type Config,
  type ConnectionsConfig,
  connectionsSchema,
} from "../core/config_schema.ts";
import type { AgentKind, AgentRegistry } from "./agent_registry.ts";

/** An agent as the pipeline starts it: its kind, its config as the Worker gets it, and what follows from them. */
export interface ResolvedAgent {
  readonly id: string;
  readonly agent: AgentConfig;
  readonly kind: AgentKind;
  /** The config handed to the Worker: the kind's connection defaults, then the agent's own `config`. */
  readonly config: Record<string, unknown>;
  /** The tools its actors may call: `agents.<id>.tools`, else the kind's. */
  readonly tools: readonly string[];
  /** Batching: the file's `batch`, else the kind's defaults, else the pipeline's. */
  readonly batch: {
    readonly maxRecords: number;
    readonly maxWaitMs: number;
    readonly deadlineMs: number;
  }; /** Whether it runs once in the cluster (under the singleton lease): `agents.<id>.singleton`, else its kind's. */
  readonly singleton: boolean;
}

/**
 * The config an agent's Worker gets: a source's dead-letter topic defaults to the node's, then what its kind
 * takes from `connections`, then the agent's own `config` (which wins).
 */
function configInput(
  spec: AgentKindSpec,
  own: Record<string, unknown>,
  connections: ConnectionsConfig,
  deadLetterTopic: string,
): Record<string, unknown> {
  return {
    ...(spec.role !== "consumer" ? { deadLetterTopic } : {}),
    ...connectionDefaults(spec, connections),
    ...own,
  };
}

/**
 * How the pipeline starts one agent of a valid configuration.
 *
 * @param id The agent's id.
 * @param config The validated configuration (it passed {@linkcode agentChecks}).
 * @param registry The agent kinds.
 * @returns The resolved agent.
 * @throws {RangeError} When its kind is unknown (the checks report that at load).
 */
export function resolveAgent(id: string, config: Config, registry: AgentRegistry): ResolvedAgent {
  const agent = config.agents[id];
  const kind = agent && registry.get(agent.kind);
  if (!agent || !kind) throw new RangeError(`Cannot resolve agents.${id}: no such agent or kind`);
  const { spec } = kind;
  return {
    id,
    agent,
    kind,
    config: configInput(spec, agent.config, config.connections, config.node.deadLetterTopic),
    tools: agent.tools.length > 0 ? agent.tools : spec.tools ?? [],
    batch: {
      maxRecords: agent.batch.maxRecords ?? spec.batch?.maxRecords ?? BATCH_DEFAULTS.maxRecords,
      maxWaitMs: agent.batch.maxWaitMs ?? spec.batch?.maxWaitMs ?? BATCH_DEFAULTS.maxWaitMs,
      deadlineMs: agent.batch.deadlineMs ?? spec.batch?.deadlineMs ?? BATCH_DEFAULTS.deadlineMs,
    },
    singleton: spec.role === "source" && (agent.singleton ?? spec.singleton ?? false),
  };
}

/**
 * The loader check of every agent against its kind: pass it as `check` to `loadConfig`.
 *
 * @param registry The agent kinds.
 * @param toolNames Every tool that exists (`declaredTools()`), for the names `agents.<id>.tools` lists.
 * @returns The check.
 * @example
 * ```ts
 * const check = agentChecks(await loadAgentRegistry(), declaredTools().map((t) => t.name));
 * const { config } = await loadConfig({ path: "pipeline.yaml", check });
 * ```
 */
export function agentChecks(registry: AgentRegistry, toolNames: readonly string[]): ConfigCheck {
  return (raw, config) => {
    const problems: ConfigProblem[] = [];
    const agents = isObject(raw.agents) ? raw.agents : {};
    // With an invalid file, what can still be read: the declared topics, the connections, the node's dead letters.
    const topics = config
      ? Object.keys(config.topics)
      : isObject(raw.topics)
      ? Object.keys(raw.topics)
      : undefined;
    const connections = config?.connections ?? connectionsSchema.safeParse(raw.connections ?? {}).data;
    const rawDeadLetter = isObject(raw.node) ? raw.node.deadLetterTopic : undefined;
    const deadLetterTopic = config?.node.deadLetterTopic ??
      (typeof rawDeadLetter === "string" ? rawDeadLetter : "market.dead-letter");
    const known = registry.kinds.map((k) => k.spec.name).join(", ");
    for (const [id, entry] of Object.entries(agents)) {
      if (!isObject(entry) || typeof entry.kind !== "string") continue; // the schema reports it
      const at = (...path: (string | number)[]) => ["agents", id, ...path].join(".");
      const problem = (path: string, message: string) => problems.push({ path, message });
      const kind = registry.get(entry.kind);
      if (!kind) {
        problem(at("kind"), `unknown kind "${entry.kind}" (known: ${known})`);
        continue;
      }
      const { spec } = kind;
      const agent = config?.agents[id] ?? agentSchema.safeParse(entry).data;

      // The agent's own config, against its kind's schema.
      let parsed: unknown;
      const own = entry.config ?? {};
      if (isObject(own)) {
        const input = configInput(spec, own, connections ?? {}, deadLetterTopic);
        const result = spec.config ? spec.config.safeParse(input, { reportInput: true }) : undefined;
        if (result && !result.success) {
          problems.push(...zodProblems(result.error.issues, ["agents", id, "config"]));
        } else parsed = result ? result.data : input;
      }
      if (parsed !== undefined) {
        try {
          specPermissions(spec, parsed);
        } catch (error) {
          problem(at("config"), `cannot grant the permissions it needs: ${(error as Error).message}`);
        }
      }
      if (!agent) continue; // the rest reads fields the schema refused

      // Tools: every name exists; the kind's own calls are allowed.
      agent.tools.forEach((name, i) => {
        if (!toolNames.some((t) => isToolAllowed([name], t))) {
          problem(at("tools", i), `unknown tool "${name}" (known: ${toolNames.join(", ")})`);
        }
      });
      if (agent.tools.length > 0 && spec.toolsMayNarrow) {
        agent.tools.forEach((name, i) => {
          if (!(spec.tools ?? []).some((t) => isToolAllowed([name], t))) {
            problem(
              at("tools", i),
              `the ${spec.name} kind may be given only ${(spec.tools ?? []).join(", ")}`,
            );
          }
        });
      } else if (agent.tools.length > 0) {
        for (const call of spec.tools ?? []) {
          if (!isToolAllowed(agent.tools, call)) {
            problem(at("tools"), `the ${spec.name} kind calls ${call}, which this list does not allow`);
          }
        }
      }

      // What depends on the rest of the file is checked for agents that are enabled: a disabled entry may name
      // topics that are declared only when it is turned on.
      if (!agent.enabled) continue;

      // Topics: what the kind writes for this config is declared and may be published to.
      if (parsed !== undefined) {
        for (const topic of new Set(spec.topics?.(parsed as never).writes ?? [])) {
          if (topics && !topics.includes(topic)) {
            problem(
              at("config"),
              `the ${spec.name} kind writes to topic "${topic}", which is not declared (declared topics: ${
                topics.join(", ") || "none"
              })`,
            );
          } else if (topic !== deadLetterTopic && !agent.publish.includes(topic)) {
            problem(at("publish"), `the ${spec.name} kind writes to topic "${topic}", which this list lacks`);
          }
        }
      }

      // Role: a consumer reads a subscription; a source has none; only a source can be a singleton.
      if (spec.role !== "source" && !agent.subscribe) {
        problem(at("subscribe"), `a ${spec.name} agent consumes: it needs topics to read`);
      }
      if (spec.role === "source" && agent.subscribe) {
        problem(at("subscribe"), `a ${spec.name} agent is a source: it reads no topics`);
      }
      if (spec.role !== "source" && agent.singleton) {
        problem(
          at("singleton"),
          "only a source can be a singleton; consuming agents share their partitions through their group",
        );
      }

      // Connections: what the kind cannot work without, for an agent that would start.
      const starts = agent.requires.every((name) => connections?.[name] !== undefined);
      if (starts && connections) {
        for (const name of spec.connections?.requires ?? []) {
          if (connections[name] === undefined) {
            problem(
              at("requires"),
              `a ${spec.name} agent needs connections.${name}, which is not configured ` +
                `(configure it, or add ${name} to requires so the agent starts only when it is)`,
            );
          }
        }
      }
    }
    return problems;
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
