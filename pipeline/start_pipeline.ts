/**
 * Builds and runs the pipeline a configuration describes, on one node:
 *
 * 1. the stream connector (Kafka, or the embedded log) and the declared topics (created or grown);
 * 2. the schema registry (or the embedded one) with the local schemas registered, and the Avro serde;
 * 3. the databases the sinks write to (PostgreSQL — embedded when no URL is set — and ClickHouse);
 * 4. the MCP tool servers: one connection per actor over a MessagePort, and `/mcp` over HTTP;
 * 5. the supervision tree: per consuming agent a supervisor of its actors and, last, its dispatcher (the
 *    consumer-group membership, restarted like an actor when it crashes), then per source agent a supervisor of
 *    its actors. Stopping the root stops sources first, then each dispatcher drains and commits, then the
 *    consumers' actors stop;
 * 6. source offsets (a compacted topic on Kafka, a file in the data dir on the embedded log), the singleton lease
 *    (on Kafka: the member of the coordination group owning partition 0 runs the singleton sources; the others keep
 *    them on standby) and the node registry (heartbeats to a compacted topic; `/api/cluster`);
 * 7. readiness: `stream` (the producer is connected), one `consumer:<agent>` check per consuming agent (its
 *    membership is consuming), and one per database; the lag monitor measures every consumed partition.
 *
 * @module
 */
import type postgresClient from "postgres";
import type { AgentModule, AgentPermissions } from "../actors/runtime/agent_spec.ts";
import { AvroSerde } from "../connector/avro/mod.ts";
import { describeConnector, openConnector } from "../connector/open_connector.ts";
import {
  loadSchemaCatalog,
  openSchemaRegistry,
  registerCatalog,
  type SchemaCatalog,
} from "../connector/registry/mod.ts";
import type { ConsumedRecord, StreamConnector } from "../connector/types.ts";
import { connectorMetrics } from "../connector/connector_metrics.ts";
import { LagMonitor } from "../connector/lag_monitor.ts";
import { registry as processRegistry } from "../core/metrics.ts";
import { activeAgents } from "../core/config_active_agents.ts";
import { ConfigError } from "../core/config_error.ts";
import { zodProblems } from "../core/config_loader.ts";
import type { AgentConfig, Config } from "../core/config_schema.ts";
import type { HttpServer } from "../core/http_server.ts";
import { getLogger } from "../core/log.ts";
import {
  actorChild,
  ActorHandle,
  type ChildSpec,
  Dispatcher,
  dispatcherChild,
  type ExitReason,
  gatedChild,
  mergePermissions,
  oneForOne,
  type PublishFn,
  Supervisor,
  supervisorChild,
  type TreeNode,
} from "../supervisor/mod.ts";
import {
  type ActorToolsConnection,
  createApiHandler,
  createMcpHttpHandler,
  serveActorTools,
  toolCatalog,
} from "../tools/mod.ts";
import { agentKind, isSingleton } from "./agent_kinds.ts";
import {
  FileOffsetStore,
  SOURCE_OFFSETS_TOPIC,
  type SourceOffsetStore,
  TopicOffsetStore,
} from "../connector/source_offsets/mod.ts";
import { COORDINATION_TOPIC, SingletonLease } from "./singleton_lease.ts";
import { type NodeAgent, NodeRegistry, NODES_TOPIC } from "./node_registry.ts";
import { clusterTopics } from "./cluster_topics.ts";
import denoJson from "../deno.json" with { type: "json" };

const QISTREAM_VERSION: string = denoJson.version;
import { avroPublisher } from "./avro_publish.ts";
import { declareTopics } from "./declare_topics.ts";
import { localMcpToken } from "./local_mcp_token.ts";
import { topicSchemas } from "./topic_schemas.ts";
import { checkAgentTables } from "./check_agent_tables.ts";
import { type Databases, openDatabases } from "./databases.ts";
import { retriableOf } from "../core/retriable.ts";

/** Options of {@linkcode startPipeline}. */
export interface PipelineOptions {
  config: Config;
  /** The node's HTTP server: the pipeline mounts `/mcp` and `/api` and adds readiness checks. */
  http: HttpServer;
  /** Called once when the root supervisor gives up; the caller stops the pipeline and exits non-zero. */
  onGiveUp?: (reason: ExitReason) => void;
}

/** A running pipeline. */
export interface RunningPipeline {
  readonly connector: StreamConnector;
  /** Where things are, for the start banner. */
  readonly where: {
    log: string;
    registry: string;
    postgres?: string;
    /** What `postgres.query` runs as, or why it is off. */
    postgresQuery?: string;
    clickhouse?: string;
    /** What `clickhouse.query` runs as, or why it is off. */
    clickhouseQuery?: string;
    agents: string[];
    /** The file holding the local MCP token, when the configuration declares no tokens. */
    mcpTokenFile?: string;
  };
  /** The live supervision tree (supervisors, actors, dispatchers). */
  tree(): TreeNode;
  /** Stops sources, drains and commits, stops consumers, closes connections. */
  stop(): Promise<void>;
}

/** The error a pipeline start fails with; its message names the part that failed. */
export class PipelineStartError extends Error {
  override name = "PipelineStartError";
  /** The cause's own flag: whether starting again may succeed (a database still starting), docs/errors.md. */
  readonly retriable: boolean | undefined;
  constructor(readonly part: string, cause: unknown) {
    super(`Cannot start the pipeline: ${part}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.retriable = retriableOf(cause);
  }
}

const log = getLogger("pipeline");

async function step<T>(part: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new PipelineStartError(part, error);
  }
}

/** Starts the configured pipeline. On failure, whatever was started is stopped again before it throws. */
export async function startPipeline(options: PipelineOptions): Promise<RunningPipeline> {
  const { config, http } = options;
  const cleanup: (() => unknown)[] = [];
  const undo = async () => {
    for (const fn of cleanup.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        log.warn("cleanup: {error}", { error });
      }
    }
  };
  try {
    const connector = openConnector(config);
    await step(`connecting to ${describeConnector(config)}`, () => connector.connect());
    cleanup.push(() => connector.close());
    let connected = true;
    connector.onStatus((status) => {
      if (status.type === "connected") connected = true;
      if (status.type === "disconnected") connected = false;
    });
    const removeStreamCheck = http.readiness.add("stream", () => {
      if (!connected) throw new Error(`${describeConnector(config)} is disconnected`);
    });
    cleanup.push(removeStreamCheck);

    await step("declaring topics", () => declareTopics(clusterTopics(config), connector));
    const kafka = config.connections.kafka;
    const offsets: SourceOffsetStore = kafka
      ? new TopicOffsetStore(connector, SOURCE_OFFSETS_TOPIC)
      : new FileOffsetStore(config.node.dataDir);

    const registry = openSchemaRegistry(config.connections.schemaRegistry, config.node.dataDir);
    let schemas: SchemaCatalog | undefined;
    await step(
      "registering schemas",
      async () => registerCatalog(schemas = topicSchemas(await loadSchemaCatalog(), config.topics), registry),
    );
    const schemaOf = (topic: string) => schemas?.subjects.find((s) => s.topic === topic)?.name;
    const serde = new AvroSerde({ registry });

    const agents = activeAgents(config).start;
    const databases: Databases = await step(
      "opening databases",
      () => openDatabases(config, agents.map((a) => a.agent.kind)),
    );
    cleanup.push(() => databases.close());
    for (const [name, check] of Object.entries(databases.readiness)) {
      const remove = http.readiness.add(name, check);
      cleanup.push(remove);
    }

    const live: { root?: Supervisor; cluster?: () => unknown } = {};
    const dispatchers: Dispatcher[] = [];
    const tools = toolCatalog({
      postgres: databases.postgres
        ? {
          sql: databases.postgres as postgresClient.Sql,
          query: databases.postgresQuery?.pool,
          queryUnavailable: databases.postgresQuery?.unavailable,
          readerRole: databases.postgresQuery?.readerRole,
          caps: {
            maxRows: config.mcp.query.maxRows,
            maxBytes: config.mcp.query.maxBytes,
            timeoutMs: config.mcp.query.timeoutMs,
          },
        }
        : undefined,
      clickhouse: databases.clickhouse
        ? {
          client: databases.clickhouse,
          query: databases.clickhouseQuery?.access,
          queryUnavailable: databases.clickhouseQuery?.unavailable,
          caps: {
            maxRows: config.mcp.query.maxRows,
            maxBytes: config.mcp.query.maxBytes,
            timeoutMs: config.mcp.query.timeoutMs,
          },
        }
        : undefined,
      stream: { connector, publishTopics: Object.keys(config.topics) },
      supervision: {
        tree: () => live.root?.snapshot() ?? null,
        restart: (actor) => restartActor(live.root, dispatchers, actor),
        cluster: () => live.cluster?.() ?? null,
      },
    });
    const local = config.mcp.tokens.length === 0 ? await localMcpToken(config.node.dataDir) : undefined;
    const unmountMcp = http.mount(
      "/mcp",
      createMcpHttpHandler({
        tools,
        tokens: local ? [local] : config.mcp.tokens,
        allowedHosts: config.mcp.allowedHosts,
        allowedOrigins: config.mcp.allowedOrigins,
      }),
    );
    cleanup.push(unmountMcp);
    // /api shows lastError, permissions and config: the same tokens and roles as /mcp.
    const unmountApi = http.mount(
      "/api",
      createApiHandler({
        tokens: local ? [local] : config.mcp.tokens,
        endpoints: [{
          path: "/api/tree",
          permission: "supervision.tree",
          handle: () => Response.json(live.root?.snapshot() ?? null),
        }, {
          path: "/api/cluster",
          permission: "supervision.cluster",
          handle: () => Response.json(live.cluster?.() ?? null),
        }],
      }),
    );
    cleanup.push(unmountApi);

    const toolConnections = new Map<string, ActorToolsConnection>();
    cleanup.push(async () => {
      for (const connection of toolConnections.values()) await connection.close();
    });
    const toolPortFor = (actorId: string, allow: string[]) => () => {
      const channel = new MessageChannel();
      const previous = toolConnections.get(actorId);
      previous?.close().catch(() => {});
      serveActorTools(channel.port1, { actorId, allow, tools }).then(
        (connection) => toolConnections.set(actorId, connection),
        (error) => log.error("tool port of {actorId} failed: {error}", { actorId, error }),
      );
      return channel.port2;
    };

    const publish = avroPublisher(connector, serde);
    const decode = async (record: ConsumedRecord) => {
      if (record.value === null) throw new TypeError("Cannot decode a record with no value (a tombstone)");
      return (await serde.decode(record.value)).value;
    };

    const lease = kafka
      ? await step("joining the singleton lease group", () =>
        SingletonLease.join(connector, {
          group: `${config.node.name}.singletons`,
          topic: COORDINATION_TOPIC,
          sessionTimeoutMs: kafka.sessionTimeoutMs,
        }))
      : SingletonLease.alwaysOwned();
    cleanup.push(() => lease.close());
    if (kafka) {
      // Standby is healthy; a lease membership that cannot reach its coordinator is not.
      cleanup.push(http.readiness.add("singletons", () => {
        const problem = lease.problem();
        if (problem) throw new Error(problem);
      }));
    }

    const consumers: ChildSpec[] = [];
    const sources: ChildSpec[] = [];
    const described: Omit<NodeAgent, "state" | "partitions">[] = [];
    for (const { id, agent } of agents) {
      const kind = agentKind(id, agent.kind);
      const singleton = isSingleton(id, kind, agent.singleton);
      described.push({ agent: id, kind: agent.kind, role: kind.role, instances: agent.instances, singleton });
      const module = await step(`loading agent ${id}`, () => loadAgentModule(kind.module));
      // A source dead-letters malformed upstream payloads to the node's dead-letter topic unless it names its own.
      const agentConfig = {
        ...(kind.role === "source" ? { deadLetterTopic: config.node.deadLetterTopic } : {}),
        ...kind.fromConnections?.(config.connections),
        ...agent.config,
      };
      const grants = agentGrants(id, module, agentConfig, agent);
      const allow = agent.tools.length > 0 ? agent.tools : module.spec.tools ?? [];
      const instances = Array.from({ length: agent.instances }, (_, i) => `${id}-${i}`);
      const base = {
        module: kind.module,
        agent: id,
        config: agentConfig,
        grants,
        publish: publishAllowed(id, [...agent.publish, config.node.deadLetterTopic], publish),
        restart: agent.restart,
        batchDeadlineMs: agent.batch.deadlineMs,
      };
      let dispatcher: Dispatcher | undefined;
      if (kind.role === "consumer") {
        await step(
          `checking the table of agents.${id}`,
          () =>
            checkAgentTables(tools, allow, module.spec, agentConfig, {
              topics: agent.subscribe?.topics ?? [],
              schemaOf,
            }),
        );
        if (!agent.subscribe) {
          throw new PipelineStartError(
            `agents.${id}.subscribe`,
            `a ${agent.kind} agent needs topics to read`,
          );
        }
        dispatcher = new Dispatcher({
          connector,
          agent: id,
          group: agent.subscribe.group ?? id,
          topics: agent.subscribe.topics,
          instances,
          deadLetterTopic: config.node.deadLetterTopic,
          fromBeginning: agent.subscribe.fromBeginning,
          maxBatchRecords: agent.batch.maxRecords,
          maxBatchWaitMs: agent.batch.maxWaitMs,
          decode,
        });
        dispatchers.push(dispatcher);
      }
      const actors = instances.map((actorId) =>
        actorChild({
          ...base,
          id: actorId,
          toolPort: allow.length > 0 ? toolPortFor(actorId, allow) : undefined,
          onStarted: dispatcher && ((handle) => dispatcher.attach(actorId, handle)),
          sourceOffsets: kind.role === "source"
            ? { load: () => offsets.load(actorId), save: (position) => offsets.save(actorId, position) }
            : undefined,
        })
      );
      // A consumer's dispatcher follows its actors, so a stop drains and commits before the actors stop; under
      // the agent's supervisor, a crashed membership is restarted within the agent's restart intensity.
      const agentSupervisor = supervisorChild({
        id,
        strategy: oneForOne,
        ...agent.supervision,
        children: dispatcher ? [...actors, dispatcherChild(`${id}.dispatcher`, dispatcher)] : actors,
      });
      if (dispatcher) {
        consumers.push(agentSupervisor);
        const d = dispatcher;
        // Data flows: the membership is consuming, and no partition is backed up (registry away, dead letter
        // being retried) nor has the dead-letter path broken.
        cleanup.push(http.readiness.add(`consumer:${id}`, () => {
          const problem = d.problem();
          if (problem) throw new Error(problem);
          const health = d.health();
          if (!health.ok) throw new Error(health.reason);
        }));
      } else sources.push(singleton ? gatedChild(agentSupervisor, lease) : agentSupervisor);
    }

    const lag = new LagMonitor({
      connector,
      targets: dispatchers.map((d) => ({ group: d.group, topics: d.topics })),
      metrics: connectorMetrics(processRegistry),
      intervalMs: config.node.lagIntervalMs,
    });

    const root = await step("starting agents", () =>
      Supervisor.start({
        id: "root",
        strategy: oneForOne,
        ...config.node.supervision,
        children: [...consumers, ...sources],
        onGiveUp: (reason) => {
          log.error("the root supervisor gave up: {reason}", { reason });
          options.onGiveUp?.(reason);
        },
      }));
    live.root = root;
    cleanup.push(() => root.stop());
    lag.start();
    cleanup.push(() => lag.stop());

    const startedAt = new Date().toISOString();
    const nodeId = config.node.id ?? `${Deno.hostname()}:${http.port}`;
    const nodes = await step("starting the node registry", () =>
      NodeRegistry.start({
        connector: kafka ? connector : undefined,
        topic: NODES_TOPIC,
        heartbeatMs: config.node.heartbeatMs,
        describe: () => ({
          id: nodeId,
          name: config.node.name,
          host: Deno.hostname(),
          pid: Deno.pid,
          address: `http://${config.node.http.host}:${http.port}`,
          version: QISTREAM_VERSION,
          log: describeConnector(config),
          startedAt,
          singletonOwner: lease.owned,
          agents: described.map((a) => nodeAgent(a, root.child(a.agent)?.snapshot(), dispatchers)),
        }),
      }));
    live.cluster = () => nodes.view();
    cleanup.push(() => nodes.stop());

    const where = {
      log: describeConnector(config),
      registry: config.connections.schemaRegistry?.url ?? `embedded registry in ${config.node.dataDir}`,
      postgres: databases.postgresWhere,
      postgresQuery: databases.postgresQuery?.where,
      clickhouse: databases.clickhouseWhere,
      clickhouseQuery: databases.clickhouseQuery?.where,
      agents: agents.map((a) => `${a.id} (${a.agent.kind} ×${a.agent.instances})`),
      mcpTokenFile: local?.file,
    };
    let stopping: Promise<void> | undefined;
    return {
      connector,
      where,
      tree: () => root.snapshot(),
      stop: () => stopping ??= undo(),
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/**
 * An agent's publish, limited to the topics its `agents.<id>.publish` lists (and the dead-letter topic).
 * Anything else is refused with the list in the message.
 */
function publishAllowed(id: string, topics: string[], publish: PublishFn): PublishFn {
  const allowed = new Set(topics);
  return (topic, records, from) =>
    allowed.has(topic) ? publish(topic, records, from) : Promise.reject(
      new RangeError(
        `Cannot publish to ${topic}: agents.${id}.publish lists only ${[...allowed].join(", ")}`,
      ),
    );
}

async function loadAgentModule(
  url: URL,
): Promise<AgentModule & { grants?: (config: never) => AgentPermissions }> {
  const mod = await import(url.href);
  if (typeof mod.spec !== "object" || mod.spec === null) {
    throw new TypeError(`${url.pathname} exports no spec`);
  }
  return mod;
}

/**
 * Validates the agent's config with its schema and returns the permissions it needs beyond its spec.
 * @throws {ConfigError} with the path of each wrong field, e.g. `agents.synthetic.config.ratePerSecond`
 */
function agentGrants(
  id: string,
  module: AgentModule & { grants?: (config: never) => AgentPermissions },
  raw: Record<string, unknown>,
  agent: AgentConfig,
): AgentPermissions {
  const schema = module.spec.config;
  let parsed: unknown = raw;
  if (schema) {
    const result = schema.safeParse(raw, { reportInput: true });
    if (!result.success) {
      throw new ConfigError("the pipeline file", zodProblems(result.error.issues, ["agents", id, "config"]));
    }
    parsed = result.data;
  }
  return mergePermissions(module.grants?.(parsed as never), agent.permissions);
}

/** What one agent does on this node, for its heartbeat: its tree state and a consumer's partitions. */
function nodeAgent(
  agent: Omit<NodeAgent, "state" | "partitions">,
  node: TreeNode | undefined,
  dispatchers: Dispatcher[],
): NodeAgent {
  const dispatcher = dispatchers.find((d) => d.agent === agent.agent);
  const partitions = dispatcher?.snapshot().partitions.map((p) => `${p.topic}:${p.partition}`);
  return { ...agent, state: node?.state ?? "stopped", ...(partitions ? { partitions } : {}) };
}

/** Restarts one actor by killing its current incarnation; its supervisor starts a new one. */
async function restartActor(
  root: Supervisor | undefined,
  dispatchers: Dispatcher[],
  actor: string,
): Promise<void> {
  const handle = dispatchers.map((d) => d.handle(actor)).find(Boolean) ?? findActor(root, actor);
  if (!handle) throw new RangeError(`No running actor "${actor}"`);
  handle.kill();
  await handle.exited;
}

function findActor(root: Supervisor | undefined, actor: string): ActorHandle | undefined {
  const agentId = actor.replace(/-\d+$/, "");
  const agentSupervisor = root?.child(agentId);
  const child = agentSupervisor instanceof Supervisor ? agentSupervisor.child(actor) : undefined;
  return child instanceof ActorHandle ? child : undefined;
}
