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
import type { Config } from "../core/config_schema.ts";
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
  oneForOne,
  type PublishFn,
  Supervisor,
  supervisorChild,
  type TreeNode,
} from "../supervisor/mod.ts";
import {
  type ActorToolsConnection,
  type AnyToolDefinition,
  type ApiEndpoint,
  createApiHandler,
  createMcpHttpHandler,
  declaredTools,
  isToolAllowed,
  lifecycleEndpoints,
  rolePatterns,
  rolesOf,
  serveActorTools,
  toolCatalog,
  toolEndpoint,
} from "../tools/mod.ts";
import { loadAgentRegistry } from "./agent_registry.ts";
import { agentChecks, resolveAgent } from "./check_agents.ts";
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
import { DashboardFeed, serveDashboardFile, ThroughputMeter } from "../dashboard/mod.ts";
import { avroPublisher } from "./avro_publish.ts";
import { declareTopics } from "./declare_topics.ts";
import { localAdminToken, localMcpToken } from "./local_mcp_token.ts";
import { type LifecycleAgent, NodeLifecycle } from "./node_lifecycle.ts";
import { topicSchemas } from "./topic_schemas.ts";
import { checkAgentTables } from "./check_agent_tables.ts";
import { type Databases, openDatabases } from "./databases.ts";
import { askDoors, auditEndpoint } from "./ask_doors.ts";
import { readTopicToEnd } from "../connector/read_topic_to_end.ts";
import { configSecrets, Redactor } from "../llm/redactor.ts";
import { registerSecrets } from "../core/log_redact.ts";
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
    /** The LLM endpoint and model Ask and the analyst use, when one is configured. */
    llm?: string;
    /** The local admin token the dashboard link carries, when the configuration declares no tokens. */
    adminToken?: string;
  };
  /** Pause, resume, stop, start and restart of agents (the `lifecycle.*` commands). */
  readonly lifecycle: NodeLifecycle;
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
  // The agents are checked before anything is created, also when the caller's config skipped the loader's check.
  const kinds = await step("loading agent kinds", () => loadAgentRegistry());
  const problems = agentChecks(kinds, declaredTools().map((t) => t.name))(config, config);
  if (problems.length > 0) throw new ConfigError("the pipeline configuration", problems);
  const agents = activeAgents(config).start.map(({ id }) => resolveAgent(id, config, kinds));
  try {
    // Every secret the configuration loaded is scrubbed from logs (wherever it appears) and from LLM prompts.
    const redactor = new Redactor(configSecrets(config), config.connections.llm?.redact ?? []);
    registerSecrets(redactor.secrets);
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

    // The audit topic is declared with the node's topics; a file that does not list it gets a default one.
    const nodeTopics = clusterTopics(config);
    const declared = config.node.auditTopic in nodeTopics ? nodeTopics : {
      ...nodeTopics,
      [config.node.auditTopic]: {
        partitions: 1,
        replicationFactor: Math.max(1, ...Object.values(config.topics).map((t) => t.replicationFactor)),
        cleanupPolicy: "delete" as const,
        compression: "none" as const,
        retentionMs: 90 * 24 * 3600 * 1000,
      },
    };
    await step("declaring topics", () => declareTopics(declared, connector));
    const lifecycle = await step(
      `reading ${config.node.dataDir}/lifecycle.json`,
      () => NodeLifecycle.open(config.node.dataDir, config.node.name),
    );
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
    const topicsOf = (schema: string) =>
      schemas?.subjects.filter((s) => s.name === schema).map((s) => s.topic) ?? [];
    const serde = new AvroSerde({ registry });

    const databases: Databases = await step(
      "opening databases",
      () => openDatabases(config, agents.flatMap((a) => a.tools)),
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
      lifecycle,
      deadLetters: { connector, topic: config.node.deadLetterTopic, serde },
    });
    const publish = avroPublisher(connector, serde);
    const ask = askDoors(config, tools, publish, redactor);
    if (ask) tools.push(ask.tool);
    // The dashboard's endpoints join once its feed runs (the handler reads this list on every request).
    const apiEndpoints: ApiEndpoint[] = [
      {
        path: "/api/tree",
        permission: "supervision.tree",
        handle: () => Response.json(live.root?.snapshot() ?? null),
      },
      {
        path: "/api/cluster",
        permission: "supervision.cluster",
        handle: () => Response.json(live.cluster?.() ?? null),
      },
      ...lifecycleEndpoints(lifecycle),
      ...deadLetterEndpoints(tools),
      ...(ask ? [ask.endpoint, auditEndpoint(() => readAudit(connector, serde, config))] : []),
    ];
    const local = config.mcp.tokens.length === 0 ? await localMcpToken(config.node.dataDir) : undefined;
    const localAdmin = local ? await localAdminToken(config.node.dataDir) : undefined;
    const tokens = local && localAdmin ? [local, localAdmin] : config.mcp.tokens;
    const unmountMcp = http.mount(
      "/mcp",
      createMcpHttpHandler({
        tools,
        tokens,
        allowedHosts: config.mcp.allowedHosts,
        allowedOrigins: config.mcp.allowedOrigins,
      }),
    );
    cleanup.push(unmountMcp);
    // /api shows lastError, permissions and config: the same tokens and roles as /mcp.
    const unmountApi = http.mount(
      "/api",
      createApiHandler({
        tokens,
        roles: rolesOf(tools),
        endpoints: apiEndpoints,
      }),
    );
    cleanup.push(unmountApi);

    const toolConnections = new Map<string, ActorToolsConnection>();
    cleanup.push(async () => {
      for (const connection of toolConnections.values()) await connection.close();
    });
    const toolPortFor = (actorId: string, allow: readonly string[]) => () => {
      const channel = new MessageChannel();
      const previous = toolConnections.get(actorId);
      previous?.close().catch(() => {});
      serveActorTools(channel.port1, { actorId, allow, tools }).then(
        (connection) => toolConnections.set(actorId, connection),
        (error) => log.error("tool port of {actorId} failed: {error}", { actorId, error }),
      );
      return channel.port2;
    };

    /** Records each agent published (for the dashboard's throughput). */
    const published = new Map<string, number>();
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
    const lifecycleAgents: LifecycleAgent[] = [];
    const sources: ChildSpec[] = [];
    const described: Omit<NodeAgent, "state" | "partitions">[] = [];
    for (const { id, agent, kind, config: agentConfig, tools: allow, batch, singleton } of agents) {
      const role = kind.spec.role === "source" ? "source" : "consumer";
      described.push({ agent: id, kind: agent.kind, role, instances: agent.instances, singleton });
      const instances = Array.from({ length: agent.instances }, (_, i) => `${id}-${i}`);
      const base = {
        module: kind.module,
        agent: id,
        // The Worker validates it again with the same schema; the spec's permissions follow from it.
        config: agentConfig,
        grants: agent.permissions,
        publish: counted(
          publishAllowed(id, [...agent.publish, config.node.deadLetterTopic], publish),
          (n) => published.set(id, (published.get(id) ?? 0) + n),
        ),
        restart: agent.restart,
        batchDeadlineMs: batch.deadlineMs,
      };
      let dispatcher: Dispatcher | undefined;
      if (kind.spec.role !== "source" && agent.subscribe) {
        await step(
          `checking the table of agents.${id}`,
          () =>
            checkAgentTables(tools, allow, kind.spec, agentConfig, {
              topics: agent.subscribe?.topics ?? [],
              schemaOf,
            }),
        );
        dispatcher = new Dispatcher({
          connector,
          agent: id,
          group: agent.subscribe.group ?? id,
          topics: agent.subscribe.topics,
          instances,
          deadLetterTopic: config.node.deadLetterTopic,
          fromBeginning: agent.subscribe.fromBeginning,
          maxBatchRecords: batch.maxRecords,
          maxBatchWaitMs: batch.maxWaitMs,
          decode,
          paused: lifecycle.pausedAtStart(id),
        });
        dispatchers.push(dispatcher);
      }
      const actors = instances.map((actorId) =>
        actorChild({
          ...base,
          id: actorId,
          toolPort: allow.length > 0 ? toolPortFor(actorId, allow) : undefined,
          onStarted: dispatcher && ((handle) => dispatcher.attach(actorId, handle)),
          sourceOffsets: kind.spec.role !== "consumer"
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
      lifecycleAgents.push({ id, role: dispatcher ? "consumer" : "source", instances, dispatcher });
      if (dispatcher) {
        consumers.push(agentSupervisor);
        const d = dispatcher;
        // Data flows: the membership is consuming, and no partition is backed up (registry away, dead letter
        // being retried) nor has the dead-letter path broken. An agent an operator stopped passes with a detail
        // saying so; a paused one must still hold its membership, and says it is paused.
        cleanup.push(http.readiness.add(`consumer:${id}`, () => {
          if (lifecycle.kept(id)?.state === "stopped") return lifecycle.readinessDetail(id);
          const problem = d.problem();
          if (problem) throw new Error(problem);
          const health = d.health();
          if (!health.ok) throw new Error(health.reason);
          return lifecycle.readinessDetail(id);
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
        stopped: lifecycle.stoppedAtStart(),
        onGiveUp: (reason) => {
          log.error("the root supervisor gave up: {reason}", { reason });
          options.onGiveUp?.(reason);
        },
      }));
    live.root = root;
    lifecycle.bind({
      agents: lifecycleAgents,
      root: () => live.root,
      connector,
      auditTopic: config.node.auditTopic,
    });
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
    // The dashboard at `/`: its files, and /api/events (state every second, prices, alerts, insights, dead
    // letters) read from the stream through the connector.
    const meter = new ThroughputMeter();
    const groups = Object.fromEntries(dispatchers.map((d) => [d.agent, d.group]));
    const feed = new DashboardFeed({
      connector,
      decode: async (value) => (await serde.decode(value)).value,
      topics: {
        prices: topicsOf("market.tick"),
        alerts: topicsOf("market.alert"),
        insights: topicsOf("market.insight"),
        deadLetters: [config.node.deadLetterTopic],
      },
      state: () => ({
        node: config.node.name,
        tree: live.root?.snapshot() ?? null,
        agents: lifecycle.agents(),
        groups,
        lag: lag.snapshot(),
        throughput: meter.sample(Object.fromEntries(lifecycleAgents.map((a) => [a.id, {
          in: a.dispatcher?.stats.recordsAcked ?? 0,
          out: published.get(a.id) ?? 0,
        }]))),
      }),
    });
    await step("starting the dashboard feed", () => feed.start());
    cleanup.push(() => feed.stop());
    apiEndpoints.push(
      { path: "/api/events", permission: "supervision.tree", handle: (request) => feed.handle(request) },
      {
        path: "/api/whoami",
        permission: "supervision.tree",
        handle: (_request, ctx) =>
          Response.json({
            caller: ctx.caller,
            role: ctx.role,
            admin: isToolAllowed(rolePatterns(ctx.role, rolesOf(tools)), "lifecycle.pause"),
          }),
      },
    );
    cleanup.push(http.mount("/", serveDashboardFile));

    const where = {
      log: describeConnector(config),
      registry: config.connections.schemaRegistry?.url ?? `embedded registry in ${config.node.dataDir}`,
      postgres: databases.postgresWhere,
      postgresQuery: databases.postgresQuery?.where,
      clickhouse: databases.clickhouseWhere,
      clickhouseQuery: databases.clickhouseQuery?.where,
      agents: agents.map((a) => `${a.id} (${a.agent.kind} ×${a.agent.instances})`),
      mcpTokenFile: local?.file,
      llm: config.connections.llm &&
        `${
            config.connections.llm.cassette?.mode === "replay"
              ? "cassette"
              : new URL(config.connections.llm.baseUrl).host
          } ` +
          `(${config.connections.llm.model}), audited to ${config.connections.llm.auditTopic}`,
      adminToken: localAdmin?.token,
    };
    let stopping: Promise<void> | undefined;
    return {
      connector,
      where,
      lifecycle,
      tree: () => root.snapshot(),
      stop: () => stopping ??= undo(),
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** The `deadletters.*` tools as `/api/deadletters` (list), `/api/deadletters/{ref}` (show) and `…/replay`. */
function deadLetterEndpoints(tools: AnyToolDefinition[]): ApiEndpoint[] {
  const tool = (name: string) => tools.find((t) => t.name === name)!;
  return [
    toolEndpoint(tool("deadletters.list"), "/api/deadletters"),
    toolEndpoint(tool("deadletters.replay"), "/api/deadletters/replay"),
    toolEndpoint(tool("deadletters.show"), "/api/deadletters/{ref}"),
  ];
}

/** A publish that reports how many records were acknowledged. */
function counted(publish: PublishFn, onPublished: (count: number) => void): PublishFn {
  return async (topic, records, from) => {
    const result = await publish(topic, records, from);
    onPublished(records.length);
    return result;
  };
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

/** The audit topic, decoded (`/api/llm/audit`); records that do not decode are left out. */
async function readAudit(connector: StreamConnector, serde: AvroSerde, config: Config) {
  const topic = config.connections.llm?.auditTopic ?? "llm.audit";
  const records = await readTopicToEnd(connector, topic, { timeoutMs: 20_000 });
  const out: Record<string, unknown>[] = [];
  for (const r of records) {
    if (r.value === null) continue;
    try {
      const value = (await serde.decode(r.value)).value as Record<string, unknown>;
      out.push({ ...value, ts: Number(value.ts) });
    } catch {
      // not an audit record
    }
  }
  return out;
}
