/**
 * The zod schema of `pipeline.yaml`. Every object is strict (unknown keys fail) and every field has a
 * default, so an empty file is a valid configuration. Extend it by adding fields here; `Config` follows.
 *
 * @module
 */
import { z } from "zod";

/** An integer field that also accepts a numeric string. */
function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    (v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
}

/** A boolean field that also accepts `"true"` / `"false"` (so `${FLAG:-false}` works). */
function bool() {
  return z.preprocess(
    (v) => (v === "true" ? true : v === "false" ? false : v),
    z.boolean(),
  );
}

/** A list of strings that also accepts one comma-separated string (so `${KAFKA_BROKERS}` works). */
function stringList() {
  return z.preprocess(
    (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : v),
    z.array(z.string().min(1)),
  );
}

/** Names of the connections an agent may `require`. */
export const CONNECTION_NAMES = [
  "kafka",
  "schemaRegistry",
  "postgres",
  "clickhouse",
  "llm",
  "cryptocompare",
  "twelvedata",
] as const;

/** Name of one entry of `connections`. */
export type ConnectionName = typeof CONNECTION_NAMES[number];

/** OTP restart intensity: at most `intensity` restarts within `periodMs`, else the supervisor gives up. */
function supervisionSchema(intensity: number, periodMs: number) {
  return z.object({
    intensity: int(0).default(intensity),
    periodMs: int(1).default(periodMs),
  }).strict().prefault({});
}

const nodeSchema = z.object({
  /** The pipeline's name: nodes with the same name (and brokers) form one cluster. */
  name: z.string().min(1).default("qistream"),
  /** This node's id in the node registry; default `<hostname>:<http port>` (stable across restarts). */
  id: z.string().min(1).optional(),
  /** How often the node publishes its heartbeat to the node registry; silent for 3 periods = lost. */
  heartbeatMs: int(100).default(5000),
  dataDir: z.string().min(1).default("./data"),
  http: z.object({
    host: z.string().min(1).default("127.0.0.1"),
    port: int(0, 65535).default(8080),
  }).strict().prefault({}),
  shutdownTimeoutMs: int(0).default(10_000),
  /** Where undecodable records, poison records and rows a database refuses go, with their error. */
  deadLetterTopic: z.string().min(1).default("market.dead-letter"),
  /** Where lifecycle commands (pause, resume, stop, start, restart) are audited; declared when not in `topics`. */
  auditTopic: z.string().min(1).default("qistream.audit"),
  /** Restart intensity of the root supervisor; when exceeded the node commits, stops and exits 1. */
  supervision: supervisionSchema(3, 60_000),
  /** How often consumer lag (records and seconds) is measured from the log's offsets. */
  lagIntervalMs: int(100).default(5000),
}).strict();

const tlsSchema = z.union([
  bool(),
  z.object({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    rejectUnauthorized: bool().default(true),
  }).strict(),
]);

const kafkaSchema = z.object({
  brokers: stringList().refine((b) => b.length > 0, "expected at least one broker"),
  clientId: z.string().min(1).default("qistream"),
  /** Producer compression of every batch qistream publishes; consumers read all of these whatever it is. */
  compression: z.enum(["none", "gzip", "snappy", "lz4", "zstd"]).default("none"),
  ssl: tlsSchema.optional(),
  sasl: z.object({
    mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
    username: z.string().min(1),
    password: z.string(),
  }).strict().optional(),
  connectionTimeoutMs: int(1).default(10_000),
  requestTimeoutMs: int(1).default(30_000),
  /** A consumer that died without leaving holds its partitions (and every rebalance) until this passes. */
  sessionTimeoutMs: int(6000).default(8000),
  /** How often consumers heartbeat; below sessionTimeoutMs (about a third of it). */
  heartbeatIntervalMs: int(100).default(2000),
  /** How long a rebalance waits for every member to rejoin; at least sessionTimeoutMs. */
  rebalanceTimeoutMs: int(6000).default(30_000),
}).strict().refine((k) => k.heartbeatIntervalMs < k.sessionTimeoutMs, {
  message: "heartbeatIntervalMs must be below sessionTimeoutMs",
  path: ["heartbeatIntervalMs"],
}).refine((k) => k.rebalanceTimeoutMs >= k.sessionTimeoutMs, {
  message: "rebalanceTimeoutMs must be at least sessionTimeoutMs",
  path: ["rebalanceTimeoutMs"],
});

/** The `connections` section's schema (exported so a check can read the section of a file that is invalid elsewhere). */
export const connectionsSchema = z.object({
  kafka: kafkaSchema.optional(),
  schemaRegistry: z.object({
    url: z.url(),
    username: z.string().optional(),
    password: z.string().optional(),
  }).strict().optional(),
  postgres: z.object({
    url: z.string().min(1),
    password: z.string().optional(),
    maxConnections: int(1).default(10),
    /** The writer's timeouts: a lock held elsewhere or a stuck statement becomes a retriable error. */
    statementTimeoutMs: int(0).default(60_000),
    lockTimeoutMs: int(0).default(10_000),
    /** A pre-made read-only role for `postgres.query` / `postgres.describe` (e.g. `${DATABASE_READ_URL}`). */
    readUrl: z.string().min(1).optional(),
    readPassword: z.string().optional(),
    /** Without `readUrl`: the role the node creates and maintains for the query tools (needs CREATEROLE). */
    readerRole: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "expected a lowercase role name")
      .default("qistream_reader"),
    /** Serve the query tools over a role that is not read-only (the writer, a superuser). Logged as unsafe. */
    unsafeQueryAsWriter: bool().default(false),
  }).strict().optional(),
  clickhouse: z.object({
    url: z.url(),
    username: z.string().default("default"),
    password: z.string().optional(),
    database: z.string().min(1).default("default"),
    /** A read-only user for `clickhouse.query` / `clickhouse.describe` (e.g. `${CLICKHOUSE_READ_URL}`). */
    readUrl: z.url().optional(),
    readUsername: z.string().min(1).optional(),
    readPassword: z.string().optional(),
    /** Serve the query tools as the writing user (only `readonly=1` per query). Logged as unsafe. */
    unsafeQueryAsWriter: bool().default(false),
  }).strict().optional(),
  llm: z.object({
    baseUrl: z.url().default("https://api.openai.com/v1"),
    apiKey: z.string().optional(),
    model: z.string().min(1).default("gpt-4o-mini"),
    /** Per request (each attempt). */
    timeoutMs: int(1).default(60_000),
    /** Attempts per request: 429, 5xx, timeouts and malformed bodies are retried (honouring Retry-After). */
    attempts: int(1, 20).default(4),
    /** Consecutive failed requests that open the endpoint's circuit, and how long it stays open. */
    breaker: z.object({
      failureThreshold: int(1).default(5),
      openMs: int(1).default(30_000),
    }).strict().prefault({}),
    /** Tokens one node's LLM work may spend per hour, per agent (0: no limit). */
    tokensPerHour: int(0).default(500_000),
    /** Extra regular expressions whose matches are redacted before anything reaches the LLM or a log. */
    redact: z.array(
      z.string().min(1).refine((p) => {
        try {
          new RegExp(p, "g");
          return true;
        } catch {
          return false;
        }
      }, "expected a valid regular expression"),
    ).default([]),
    /** Where every exchange is audited (declare it under `topics`). */
    auditTopic: z.string().min(1).default("llm.audit"),
    /** Record every exchange to a JSON Lines file, or replay one instead of calling the endpoint. */
    cassette: z.object({
      mode: z.enum(["record", "replay"]),
      path: z.string().min(1),
      /** Replay: request N must match the recorded request N. */
      strict: bool().default(true),
    }).strict().optional(),
  }).strict().optional(),
  cryptocompare: z.object({
    apiKey: z.string().optional(),
    url: z.url().default("https://min-api.cryptocompare.com"),
  }).strict().optional(),
  twelvedata: z.object({
    apiKey: z.string().optional(),
    url: z.url().default("https://api.twelvedata.com"),
  }).strict().optional(),
}).strict();

const topicSchema = z.object({
  partitions: int(1, 10_000).default(6),
  replicationFactor: int(1, 100).default(1),
  retentionMs: int(-1).optional(),
  cleanupPolicy: z.enum(["delete", "compact"]).default("delete"),
  compression: z.enum(["none", "gzip", "snappy", "lz4", "zstd"]).default("none"),
  config: z.record(z.string(), z.string()).optional(),
  /** Value schema: a folder of `schemas/` (e.g. `market.tick`); default from `schemas/subjects.yaml`. */
  schema: z.string().min(1).optional(),
}).strict();

/** Batching defaults of a consuming agent when neither the pipeline file nor its kind's spec sets them. */
export const BATCH_DEFAULTS = { maxRecords: 500, maxWaitMs: 100, deadlineMs: 60_000 } as const;

/**
 * One entry of `agents`. Its `config` is checked by the agent kind's own schema (pipeline/check_agents.ts, run
 * by the loader's `check`); `batch` fields left unset take the kind's defaults, then {@linkcode BATCH_DEFAULTS}.
 */
export const agentSchema = z.object({
  kind: z.string().min(1),
  enabled: bool().default(true),
  /** Runs on exactly one node of the cluster (a source); default true for replay, cryptocompare, twelvedata. */
  singleton: bool().optional(),
  requires: z.array(z.enum(CONNECTION_NAMES)).default([]),
  instances: int(1, 1024).default(1),
  subscribe: z.object({
    topics: z.array(z.string().min(1)).min(1),
    group: z.string().min(1).optional(),
    fromBeginning: bool().default(false),
  }).strict().optional(),
  publish: z.array(z.string().min(1)).default([]),
  batch: z.object({
    maxRecords: int(1).optional(),
    maxWaitMs: int(0).optional(),
    /** Longest one batch may run in an actor; past it the actor counts as hung and restarts (a failed try). */
    deadlineMs: int(1).optional(),
  }).strict().prefault({}),
  tools: z.array(z.string().min(1)).default([]),
  permissions: z.object({
    net: z.array(z.string().min(1)).default([]),
    read: z.array(z.string().min(1)).default([]),
    write: z.array(z.string().min(1)).default([]),
    env: z.array(z.string().min(1)).default([]),
  }).strict().prefault({}),
  restart: z.enum(["permanent", "transient", "temporary"]).default("permanent"),
  /** Restart intensity of the agent's supervisor: more than `intensity` restarts within `periodMs` escalate. */
  supervision: supervisionSchema(5, 30_000),
  config: z.record(z.string(), z.unknown()).default({}),
}).strict();

const mcpSchema = z.object({
  tokens: z.array(
    z.object({
      name: z.string().min(1),
      token: z.string().min(16, "expected a token of at least 16 characters"),
      role: z.string().min(1).default("reader"),
    }).strict(),
  ).default([]),
  allowedHosts: z.array(z.string().min(1)).optional(),
  allowedOrigins: z.array(z.string().min(1)).optional(),
  /** Limits of the query tools (`postgres.query`, `clickhouse.query`, `*.describe`), per database. */
  query: z.object({
    /** Statement timeout. */
    timeoutMs: int(1).default(5_000),
    /** Lock wait inside a query (PostgreSQL `lock_timeout`). */
    lockTimeoutMs: int(1).default(1_000),
    maxRows: int(1).default(1_000),
    maxBytes: int(1).default(1 << 20),
    /** Connections of the query tools' own pool. */
    maxConnections: int(1, 100).default(4),
    /** Queries one caller (token or actor) may run at once; more are refused as busy (retriable). */
    perCaller: int(1, 100).default(2),
  }).strict().prefault({}),
}).strict();

/** The whole `pipeline.yaml` schema. */
export const configSchema = z.object({
  node: nodeSchema.prefault({}),
  connections: connectionsSchema.prefault({}),
  topics: z.record(z.string().min(1), topicSchema).default({}),
  agents: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "expected a lowercase agent id"), agentSchema)
    .default({}),
  mcp: mcpSchema.prefault({}),
}).strict().superRefine((cfg, ctx) => {
  for (const [id, agent] of Object.entries(cfg.agents)) {
    const check = (topic: string, path: PropertyKey[]) => {
      if (!(topic in cfg.topics)) {
        const declared = Object.keys(cfg.topics).join(", ") || "none";
        ctx.addIssue({
          code: "custom",
          path: ["agents", id, ...path],
          message: `unknown topic "${topic}" (declared topics: ${declared})`,
        });
      }
    };
    agent.subscribe?.topics.forEach((t, i) => check(t, ["subscribe", "topics", i]));
    agent.publish.forEach((t, i) => check(t, ["publish", i]));
  }
}).transform((cfg) => {
  // Every LLM exchange is audited: with an LLM endpoint (e.g. only OPENAI_API_KEY set) the audit topic exists
  // even when the file does not declare it (then with the defaults and the llm.audit schema).
  const audit = cfg.connections.llm?.auditTopic;
  if (audit === undefined || audit in cfg.topics) return cfg;
  const declared = topicSchema.parse({ partitions: 1, schema: "llm.audit" });
  return { ...cfg, topics: { ...cfg.topics, [audit]: declared } };
});

/** A validated configuration, with every default filled in. */
export type Config = z.infer<typeof configSchema>;
/** One entry of `topics`. */
export type TopicConfig = z.infer<typeof topicSchema>;
/** One entry of `agents`. */
export type AgentConfig = z.infer<typeof agentSchema>;
/** The `connections` section. */
export type ConnectionsConfig = z.infer<typeof connectionsSchema>;
