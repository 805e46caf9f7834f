/**
 * One MCP server per connection, bound to one caller. Every tool of the catalogue is registered (so
 * `tools/list` shows the whole catalogue), but a call to a tool outside the caller's allow-list is refused with a
 * tool error result (`isError: true`, `structuredContent.error = "access_denied"`, `retriable: false`) and counted
 * in `mcp_tool_denied_total{caller,tool}`. A tool that throws answers `isError: true` with
 * `structuredContent: {error: "tool_failed", errorClass, message, retriable?}`: `retriable` is the thrown error's
 * own flag, left out when it has none (docs/errors.md). Every call's duration goes to
 * `mcp_tool_call_duration_seconds{tool,outcome}`.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { getLogger, withCorrelationId } from "../core/log.ts";
import { retriableOf } from "../core/retriable.ts";
import { isToolAllowed } from "./tool_access.ts";
import { type AnyToolDefinition, CORRELATION_META_KEY, type ToolCallContext } from "./tool_definition.ts";
import { toolCallDuration, toolDenied } from "./tool_metrics.ts";

/** Options of {@linkcode createToolServer}. */
export interface ToolServerOptions {
  /** The caller this connection belongs to, e.g. `actor:pg-sink-0` or `http:grafana`. */
  caller: string;
  /** Tool-name patterns the caller may call (see `isToolAllowed`). */
  allow: readonly string[];
  /** The tool catalogue. */
  tools: readonly AnyToolDefinition[];
  /** Server name announced to clients; default `qistream`. */
  name?: string;
  /** Server version announced to clients; default `0.1.0`. */
  version?: string;
}

/**
 * Creates an MCP server for one connection. Connect it to exactly one transport.
 *
 * @param options Caller, allow-list and tools.
 * @returns The server (not yet connected).
 * @throws {TypeError} When two tools share a name.
 *
 * @example
 * ```ts
 * const server = createToolServer({ caller: "actor:pg-sink-0", allow: ["postgres.*"], tools });
 * await server.connect(new MessagePortTransport(port));
 * ```
 */
export function createToolServer(options: ToolServerOptions): McpServer {
  const server = new McpServer(
    { name: options.name ?? "qistream", version: options.version ?? "0.1.0" },
    { capabilities: { tools: {} } },
  );
  const seen = new Set<string>();
  const log = getLogger("tools");
  const denied = toolDenied();
  const duration = toolCallDuration();
  const { caller, allow } = options;
  for (const tool of options.tools) {
    if (seen.has(tool.name)) throw new TypeError(`Cannot register tool "${tool.name}": the name is taken`);
    seen.add(tool.name);
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        annotations: { title: tool.title, ...tool.annotations },
      },
      (async (
        args: Record<string, unknown>,
        extra: { signal: AbortSignal; _meta?: Record<string, unknown> },
      ) => {
        const started = performance.now();
        const seconds = () => (performance.now() - started) / 1000;
        if (!isToolAllowed(allow, tool.name)) {
          denied.inc({ caller, tool: tool.name });
          duration.observe({ tool: tool.name, outcome: "denied" }, seconds());
          log.warn("tool call refused: {caller} may not call {tool}", { caller, tool: tool.name });
          const message = `access denied: caller "${caller}" may not call tool "${tool.name}" ` +
            `(allowed: ${allow.length ? allow.join(", ") : "none"})`;
          return errorResult(message, { error: "access_denied", caller, tool: tool.name, retriable: false });
        }
        const rawCorrelation = extra._meta?.[CORRELATION_META_KEY];
        const correlationId = typeof rawCorrelation === "string" ? rawCorrelation : undefined;
        const ctx: ToolCallContext = { caller, correlationId, signal: extra.signal };
        const run = async (): Promise<CallToolResult> => {
          try {
            const result = await tool.handler(args, ctx);
            duration.observe({ tool: tool.name, outcome: "ok" }, seconds());
            return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: result };
          } catch (error) {
            duration.observe({ tool: tool.name, outcome: "error" }, seconds());
            const e = error instanceof Error ? error : new Error(String(error));
            const retriable = retriableOf(e);
            log.warn("tool {tool} failed for {caller}: {error}", {
              tool: tool.name,
              caller,
              error: e.message,
            });
            return errorResult(`${e.name}: ${e.message}`, {
              error: "tool_failed",
              errorClass: e.name,
              message: e.message,
              ...(retriable === undefined ? {} : { retriable }),
            });
          }
        };
        return correlationId ? await withCorrelationId(correlationId, run) : await run();
      }) as never,
    );
  }
  return server;
}

function errorResult(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured, isError: true };
}
