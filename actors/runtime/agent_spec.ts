/**
 * The agent-module contract: what an agent module exports and what it may ask for.
 *
 * An agent module exports `spec` (an {@linkcode AgentSpec}) and a handler: `receive(batch, ctx)` for consumers,
 * `run(ctx)` for sources, or both. The spec is read on the main thread before the agent's Worker starts, so the
 * Worker can be started with exactly the permissions the spec declares.
 *
 * An **agent kind** (a name `agents.<id>.kind` can use) is an agent module under `actors/agents/` whose `spec`
 * is a full {@linkcode AgentKindSpec}, made with {@linkcode defineAgent}: that one declaration is what the
 * pipeline validates the config with (at load, before any side effect), starts the Worker with, and writes the
 * reference docs from. The spec is plain data and pure functions, so both the main thread and the Worker can
 * import the module; module top-level code must not start anything.
 *
 * @module
 */
import type { z } from "zod";
import type { ConnectionName, ConnectionsConfig } from "../../core/config_schema.ts";
import type { AgentContext } from "./agent_context.ts";
import type { AgentBatch } from "./agent_batch.ts";

/**
 * Deno permissions an agent needs. Every kind omitted is denied: the Worker inherits nothing.
 * Lists name hosts (`"api.example.com:443"`, `"127.0.0.1:8080"`), paths, env names or commands.
 */
export interface AgentPermissions {
  net?: string[];
  read?: string[];
  write?: string[];
  env?: string[];
  run?: string[];
  ffi?: string[];
  sys?: string[];
}

/** Declaration of an agent: validated at start and used to generate its reference docs. */
export interface AgentSpec<C = unknown> {
  /** Agent name, `[a-z][a-z0-9_-]*`; used in metrics, logs and the tree. */
  name: string;
  /** One-line summary for the docs. */
  summary?: string;
  /** Zod schema of the agent's config; defaults belong in the schema. */
  config?: z.ZodType<C>;
  /** MCP tools the agent may call; `ctx.tools.call` refuses any other name. */
  tools?: string[];
  /**
   * When true, {@linkcode tools} is the most the agent may be given and `agents.<id>.tools` may allow fewer
   * (the analyst: its LLM chooses among them); the check at load then refuses a list naming any other tool.
   * Otherwise `agents.<id>.tools` must allow every one of them (the kind calls them all).
   */
  toolsMayNarrow?: boolean;
  /**
   * Deno permissions the agent's Worker gets; everything else is denied. A function computes them from the
   * validated config (e.g. `net` to the configured API host).
   */
  permissions?: AgentPermissions | ((config: C) => AgentPermissions);
}

/** How an agent kind runs: a source `run(ctx)`s and publishes, a consumer is fed batches, `both` does both. */
export type AgentRole = "source" | "consumer" | "both";

/** Defaults for a consuming agent's batching (`agents.<id>.batch`); the pipeline file's values win. */
export interface BatchDefaults {
  /** Most records in one batch. */
  maxRecords?: number;
  /** Longest wait for a batch to fill, ms. */
  maxWaitMs?: number;
  /** Longest one batch may run before the actor counts as hung, ms. */
  deadlineMs?: number;
}

/** The topics an agent reads and writes for a config, e.g. a source's `config.topics.tick`. */
export interface AgentTopics {
  reads?: string[];
  writes?: string[];
}

/** The connections (`connections.<name>`) an agent kind needs or uses. */
export interface AgentConnections {
  /** Connections without which the kind cannot work: an agent that would start without them is a config error. */
  requires?: readonly ConnectionName[];
  /**
   * Defaults for the kind's own config taken from a connection's settings, per connection (called only when
   * that connection is configured, with the whole `connections` section as second argument; the agent's own
   * config wins), e.g. `{ cryptocompare: (c) => ({ apiKey: c.apiKey }) }`. Undefined values are dropped.
   */
  defaults?: {
    [K in ConnectionName]?: (
      connection: NonNullable<ConnectionsConfig[K]>,
      connections: ConnectionsConfig,
    ) => Record<string, unknown>;
  };
}

/**
 * The defaults a spec takes from the configured connections (see {@linkcode AgentConnections.defaults}).
 *
 * @param spec An agent kind's spec.
 * @param connections The `connections` section.
 * @returns The config defaults, undefined values dropped.
 */
export function connectionDefaults(
  spec: AgentKindSpec,
  connections: ConnectionsConfig,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(spec.connections?.defaults ?? {})) {
    const connection = connections[name as ConnectionName];
    if (connection === undefined || typeof fn !== "function") continue;
    const defaults = (fn as (c: unknown, all: ConnectionsConfig) => Record<string, unknown>)(
      connection,
      connections,
    );
    for (const [key, value] of Object.entries(defaults)) {
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}

/**
 * The one declaration of an agent kind: everything the pipeline, the validator and the docs know about it.
 * Every field but `name`, `summary` and `role` has a default of "none".
 */
export interface AgentKindSpec<C = unknown> extends AgentSpec<C> {
  /** The kind, as written in `agents.<id>.kind`. */
  name: string;
  summary: string;
  /** Longer description for the reference docs (Markdown). */
  description?: string;
  role: AgentRole;
  /** Example `config` sections for the docs; each must be valid (the registry test parses them). */
  examples?: { title: string; config: Record<string, unknown> }[];
  connections?: AgentConnections;
  /** Topics the agent publishes to or reads from itself, by config (a consumer's subscription is separate). */
  topics?: (config: C) => AgentTopics;
  /** Batch defaults of a consumer; unset fields take the pipeline's defaults. */
  batch?: BatchDefaults;
  /** A source that runs once in the cluster by default (`agents.<id>.singleton` overrides it). */
  singleton?: boolean;
}

/**
 * Declares an agent kind: the identity function, typed so the config type flows into `permissions` and
 * `topics`.
 *
 * @param spec The kind's declaration.
 * @returns The same spec.
 * @example
 * ```ts
 * import { z } from "zod";
 * export const spec = defineAgent({
 *   name: "echo",
 *   summary: "Logs every record",
 *   role: "consumer",
 *   config: z.object({ prefix: z.string().default("") }),
 * });
 * ```
 */
export function defineAgent<C>(spec: AgentKindSpec<C>): AgentKindSpec<C> {
  return spec;
}

/**
 * The Deno permissions a spec needs for a config: its static `permissions`, or what its function returns for
 * the config validated by its schema.
 *
 * @param spec An agent's spec.
 * @param config The raw config (validated here when the permissions depend on it).
 * @returns The permissions.
 * @throws {ZodError} When the permissions depend on a config that is invalid.
 */
export function specPermissions<C>(spec: AgentSpec<C>, config: unknown): AgentPermissions {
  const p = spec.permissions;
  if (typeof p !== "function") return p ?? {};
  return p(spec.config ? spec.config.parse(config) : config as C);
}

/** What an agent module exports. At least one of `receive` and `run` is required. */
export interface AgentModule<C = unknown> {
  spec: AgentSpec<C>;
  /** Consumer handler: the batch is acked when the promise resolves and failed when it rejects. */
  receive?(batch: AgentBatch, ctx: AgentContext<C>): Promise<void> | void;
  /** Source loop: the actor exits normally when it resolves and crashes when it rejects. Stop via `ctx.signal`. */
  run?(ctx: AgentContext<C>): Promise<void> | void;
  /** Optional hook for a `config` system message, called with the already validated config. */
  configure?(config: C, ctx: AgentContext<C>): Promise<void> | void;
}

const NAME = /^[a-z][a-z0-9_-]*$/;
const KINDS = ["net", "read", "write", "env", "run", "ffi", "sys"] as const;

/**
 * Checks an imported module against the agent contract and returns it typed.
 *
 * @param mod The module namespace object of an agent module.
 * @returns The module, typed as an {@linkcode AgentModule}.
 * @throws {TypeError} When `spec` or the handlers are missing or malformed.
 * @example
 * ```ts
 * const agent = assertAgentModule(await import("./echo.ts"));
 * ```
 */
export function assertAgentModule(mod: Record<string, unknown>): AgentModule {
  const spec = mod.spec as AgentSpec | undefined;
  if (typeof spec !== "object" || spec === null) {
    throw new TypeError("Cannot load agent module: it does not export `spec`");
  }
  if (typeof spec.name !== "string" || !NAME.test(spec.name)) {
    throw new TypeError(
      `Cannot load agent module: spec.name must match ${NAME}, current value is ${spec.name}`,
    );
  }
  if (typeof mod.receive !== "function" && typeof mod.run !== "function") {
    throw new TypeError(`Cannot load agent "${spec.name}": it exports neither receive() nor run()`);
  }
  if (spec.tools !== undefined && !isStringArray(spec.tools)) {
    throw new TypeError(`Cannot load agent "${spec.name}": spec.tools must be a string array`);
  }
  if (typeof spec.permissions === "function") return mod as unknown as AgentModule;
  for (const kind of Object.keys(spec.permissions ?? {})) {
    const list = (spec.permissions as Record<string, unknown>)[kind];
    if (!(KINDS as readonly string[]).includes(kind)) {
      throw new TypeError(`Cannot load agent "${spec.name}": unknown permission kind "${kind}"`);
    }
    if (!isStringArray(list)) {
      throw new TypeError(
        `Cannot load agent "${spec.name}": spec.permissions.${kind} must be a string array`,
      );
    }
  }
  return mod as unknown as AgentModule;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}
