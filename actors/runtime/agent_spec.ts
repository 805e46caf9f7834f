/**
 * The agent-module contract: what an agent module exports and what it may ask for.
 *
 * An agent module exports `spec` (an {@linkcode AgentSpec}) and a handler: `receive(batch, ctx)` for consumers,
 * `run(ctx)` for sources, or both. The spec is read on the main thread before the agent's Worker starts, so the
 * Worker can be started with exactly the permissions the spec declares.
 *
 * @module
 */
import type { z } from "zod";
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
  /** Deno permissions the agent's Worker gets; everything else is denied. */
  permissions?: AgentPermissions;
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
