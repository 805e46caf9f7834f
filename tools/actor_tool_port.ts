/**
 * The main-thread end of an actor's tool port: one MCP server per actor, bound to the actor's identity by the
 * port it was handed (the identity is never read from a message).
 *
 * Two wire protocols, chosen by the caller of {@linkcode serveActorTools}:
 * - `"mcp"`: JSON-RPC MCP over {@linkcode MessagePortTransport}; the Worker runs the SDK `Client` over a
 *   `MessagePortTransport` on its end.
 * - `"tool-client"` (default): the compact RPC of `actors/runtime/tool_client.ts` (`{id, name, args,
 *   correlationId}` → `{id, ok, result | error}`). Each request is forwarded as an MCP `tools/call` to the actor's
 *   server through an SDK `Client` over an in-memory transport pair, so access control, input validation and
 *   metrics are the same as for every MCP client. `result` is the tool's `structuredContent`; a tool error
 *   (`isError: true`) is sent as `{ok: false, error: {name, message, retriable?}}` (see {@linkcode toolError}):
 *   the tool's own `retriable` flag travels unchanged (docs/errors.md).
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { MessagePortTransport } from "./message_port_transport.ts";
import { CORRELATION_META_KEY } from "./tool_definition.ts";
import { createToolServer, type ToolServerOptions } from "./tool_server.ts";

/** Options of {@linkcode serveActorTools}. */
export interface ActorToolsOptions extends Omit<ToolServerOptions, "caller"> {
  /** The actor's id (e.g. `pg-sink-0`); the server's caller becomes `actor:<id>`. */
  actorId: string;
  /** Wire protocol on the port; default `"tool-client"`. */
  protocol?: "mcp" | "tool-client";
}

/** A served actor port. */
export interface ActorToolsConnection {
  /** The caller identity bound to this port. */
  readonly caller: string;
  /** Stops serving and closes the port. */
  close(): Promise<void>;
}

interface ToolClientRequest {
  id: number;
  /** `tools/list` instead of a call. */
  list?: true;
  name: string;
  args?: Record<string, unknown>;
  correlationId?: string;
}

/**
 * Serves the tool catalogue to one actor on its port.
 *
 * @param port The main thread's end of the actor's tool channel (the Worker has the other).
 * @param options Actor id, allow-list (the agent's `tools`), catalogue and wire protocol.
 * @returns The connection, already listening.
 *
 * @example
 * ```ts
 * const channel = new MessageChannel();
 * const conn = await serveActorTools(channel.port1, { actorId: "pg-sink-0", allow: ["postgres.*"], tools });
 * worker.postMessage({ type: "init", toolPort: channel.port2 }, [channel.port2]);
 * ```
 */
export async function serveActorTools(
  port: MessagePort,
  options: ActorToolsOptions,
): Promise<ActorToolsConnection> {
  const caller = `actor:${options.actorId}`;
  const server = createToolServer({ ...options, caller });
  if ((options.protocol ?? "tool-client") === "mcp") {
    await server.connect(new MessagePortTransport(port));
    return { caller, close: () => server.close() };
  }

  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: caller, version: "0.1.0" });
  await client.connect(clientSide);
  let open = true;
  port.onmessage = async (event: MessageEvent<ToolClientRequest>) => {
    const { id, name, args, correlationId, list } = event.data ?? {};
    if (typeof id === "number" && list === true) {
      const reply = await client.listTools().then(
        ({ tools }: { tools: unknown[] }) => ({ id, ok: true, result: tools }),
        (e: unknown) => ({
          id,
          ok: false,
          error: { name: (e as Error).name, message: (e as Error).message },
        }),
      );
      if (open) port.postMessage(reply);
      return;
    }
    if (typeof id !== "number" || typeof name !== "string") return;
    let reply: unknown;
    try {
      const result = await client.callTool({
        name,
        arguments: args ?? {},
        ...(correlationId ? { _meta: { [CORRELATION_META_KEY]: correlationId } } : {}),
      }) as CallToolResult;
      reply = result.isError
        ? { id, ok: false, error: toolError(result) }
        : { id, ok: true, result: result.structuredContent ?? textOf(result) };
    } catch (error) {
      // The call did not reach the tool (the server closed, the request timed out): it may succeed later.
      const e = error instanceof Error ? error : new Error(String(error));
      reply = { id, ok: false, error: { name: e.name, message: e.message, retriable: true } };
    }
    if (open) port.postMessage(reply);
  };
  port.start();
  return {
    caller,
    async close() {
      if (!open) return;
      open = false;
      port.onmessage = null;
      port.close();
      await client.close();
      await server.close();
    },
  };
}

function textOf(result: CallToolResult): string {
  return result.content.map((c: { type: string; text?: string }) => (c.type === "text" ? c.text ?? "" : ""))
    .join("");
}

/** The tool-client wire form of a tool error result. */
export interface ToolErrorReply {
  /** `AccessDenied`, `InvalidToolCall`, or the class of the error the tool threw. */
  name: string;
  message: string;
  /** The tool error's own flag; absent when it had none (unknown). */
  retriable?: boolean;
}

/**
 * Reads a tool error result (`isError: true`) as the tool client's wire error, keeping the tool's `retriable` flag.
 *
 * - `structuredContent.error = "access_denied"` → `AccessDenied`, not retriable.
 * - `structuredContent.error = "tool_failed"` → the thrown error's class and its flag as the tool server sent it.
 * - no `structuredContent`: the MCP SDK refused the call before the tool ran (unknown tool, arguments that fail the
 *   input schema, output that fails the output schema) → `InvalidToolCall`, not retriable: the same call fails the
 *   same way.
 *
 * @param result the tool's error result
 * @returns the wire error
 */
export function toolError(result: CallToolResult): ToolErrorReply {
  const s = result.structuredContent as
    | { error?: unknown; errorClass?: unknown; retriable?: unknown }
    | undefined;
  const message = textOf(result);
  if (s?.error === "access_denied") return { name: "AccessDenied", message, retriable: false };
  if (s?.error === "tool_failed") {
    const name = typeof s.errorClass === "string" ? s.errorClass : "ToolError";
    return { name, message, ...(typeof s.retriable === "boolean" ? { retriable: s.retriable } : {}) };
  }
  return { name: "InvalidToolCall", message, retriable: false };
}
