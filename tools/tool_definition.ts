/**
 * A tool as data: name, description, zod input schema, MCP annotations and a handler. Tool sets build lists of
 * these; {@linkcode createToolServer} registers them on one `McpServer` per connection, behind the caller's
 * allow-list and the call metrics.
 *
 * @module
 */
import type { z } from "zod";
import type { ToolRole } from "./tool_access.ts";

/** The MCP behaviour hints every qistream tool declares (all four, never left to client defaults). */
export interface ToolHints {
  /** The tool does not change anything. */
  readOnlyHint: boolean;
  /** The tool may destroy or overwrite data (only meaningful when not read-only). */
  destructiveHint: boolean;
  /** Calling it again with the same arguments has no further effect. */
  idempotentHint: boolean;
  /** The tool reaches outside qistream's own process (a database, the broker). */
  openWorldHint: boolean;
}

/** Who is calling and about what; built by the server from the connection, never from the message. */
export interface ToolCallContext {
  /** The caller's identity: `actor:<id>` for actors, `http:<token name>` for HTTP clients. */
  caller: string;
  /** The correlation id the caller attached (`_meta["qistream/correlation-id"]`), if any. */
  correlationId?: string;
  /** Aborted when the caller cancels the request or the connection closes. */
  signal: AbortSignal;
}

/** A tool: its MCP description and its handler. The handler's return value becomes `structuredContent`. */
export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  /** Namespaced name, e.g. `postgres.insert_rows`. */
  name: string;
  /** Short human title. */
  title: string;
  /** What it does, when to use it, what it returns: written for a model choosing tools. */
  description: string;
  /** Zod schema of the arguments (an object). */
  inputSchema: S;
  /** MCP annotations. */
  annotations: ToolHints;
  /**
   * The least `/mcp` role that may call it (`reader` < `writer` < `admin`: each role may call what the ones
   * before it may); `admin` when unset. Agents are not bound by roles: their spec's `tools` is their list.
   */
  role?: ToolRole;
  /** Does the work; throw to report a tool error (`isError: true`). */
  handler(args: z.infer<S>, ctx: ToolCallContext): Promise<Record<string, unknown>>;
}

/** A tool definition with its argument type erased, as stored in lists. */
// deno-lint-ignore no-explicit-any
export type AnyToolDefinition = ToolDefinition<any>;

/**
 * Declares a tool, inferring the handler's argument type from the schema.
 *
 * @param definition The tool.
 * @returns The same definition.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const ping = defineTool({
 *   name: "demo.ping", title: "Ping", description: "Answers pong.",
 *   inputSchema: z.object({}),
 *   annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
 *   handler: () => Promise.resolve({ pong: true }),
 * });
 * ```
 */
export function defineTool<S extends z.ZodObject>(definition: ToolDefinition<S>): ToolDefinition<S> {
  return definition;
}

/** `_meta` key carrying the caller's correlation id on a `tools/call` request. */
export const CORRELATION_META_KEY = "qistream/correlation-id";
