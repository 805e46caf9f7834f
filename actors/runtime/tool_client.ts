/**
 * The agent side of tool calls: an RPC over a transferable MessagePort. The MCP server that answers on the other
 * end is provided by the tools issue; {@linkcode serveToolPort} is a minimal answering side for tests and wiring.
 *
 * Wire: request `{ id, name, args, correlationId? }` (or `{ id, list: true }` for `tools/list`), reply
 * `{ id, ok: true, result }` or `{ id, ok: false, error: { name, message, retriable? } }`; `retriable` becomes
 * {@linkcode ToolCallError}'s flag unchanged (docs/errors.md).
 *
 * @module
 */
import { retriableOf } from "../../core/retriable.ts";
import { ToolCallError } from "./tool_call_error.ts";

/** What an agent sees as `ctx.tools`. */
export interface ToolClient {
  /**
   * Calls a tool by name.
   *
   * @throws {ToolCallError} When the tool is not in the agent's spec, no tool port is wired, the call is aborted,
   *   or the tool reports an error.
   */
  call(name: string, args: Record<string, unknown>, opts?: { signal?: AbortSignal }): Promise<unknown>;
  /**
   * The tools the server offers (MCP `tools/list`: name, description, input schema, annotations), including
   * tools this agent may not call; callers filter by their allow-list.
   *
   * @throws {ToolCallError} When no tool port is wired or the server does not answer.
   */
  list(): Promise<
    Array<
      {
        name: string;
        description?: string;
        inputSchema: Record<string, unknown>;
        annotations?: Record<string, unknown>;
      }
    >
  >;
}

interface ToolReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { name: string; message: string; retriable?: boolean };
}

/**
 * Creates a tool client over a MessagePort.
 *
 * @param port The Worker's end of the tool channel, or `undefined` when no tools are wired.
 * @param allowed Tool names from the agent's spec.
 * @param correlationId Returns the correlation id to attach to each call.
 * @returns A {@linkcode ToolClient}.
 */
export function createToolClient(
  port: MessagePort | undefined,
  allowed: readonly string[],
  correlationId: () => string | undefined,
): ToolClient {
  let next = 0;
  const pending = new Map<number, { name: string; resolve(v: unknown): void; reject(e: Error): void }>();
  if (port) {
    port.onmessage = (e: MessageEvent<ToolReply>) => {
      const p = pending.get(e.data.id);
      if (!p) return;
      pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data.result);
      else {
        p.reject(
          new ToolCallError(p.name, e.data.error?.message ?? "tool failed", {
            remoteName: e.data.error?.name,
            retriable: typeof e.data.error?.retriable === "boolean" ? e.data.error.retriable : undefined,
          }),
        );
      }
    };
  }
  return {
    list() {
      if (!port) {
        return Promise.reject(new ToolCallError("tools/list", "no tool port is wired to this actor"));
      }
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { name: "tools/list", resolve: resolve as (v: unknown) => void, reject });
        port.postMessage({ id, list: true });
      });
    },
    call(name, args, opts) {
      if (!allowed.includes(name)) {
        return Promise.reject(
          new ToolCallError(name, `tool "${name}" is not in this agent's spec.tools`, { retriable: false }),
        );
      }
      if (!port) {
        return Promise.reject(
          new ToolCallError(name, "no tool port is wired to this actor", { retriable: false }),
        );
      }
      if (opts?.signal?.aborted) {
        return Promise.reject(new ToolCallError(name, "aborted", { retriable: true }));
      }
      const id = ++next;
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          pending.delete(id);
          reject(new ToolCallError(name, "aborted", { retriable: true }));
        };
        opts?.signal?.addEventListener("abort", onAbort, { once: true });
        pending.set(id, {
          name,
          resolve: (v) => {
            opts?.signal?.removeEventListener("abort", onAbort);
            resolve(v);
          },
          reject: (e) => {
            opts?.signal?.removeEventListener("abort", onAbort);
            reject(e);
          },
        });
        port.postMessage({ id, name, args, correlationId: correlationId() });
      });
    },
  };
}

/**
 * Answers tool calls arriving on a port with a function (the main-thread end of {@linkcode createToolClient}).
 *
 * @param port The main thread's end of the tool channel.
 * @param handler Called per request; its result or error is sent back.
 * @returns A function that stops answering and closes the port.
 */
export function serveToolPort(
  port: MessagePort,
  handler: (
    name: string,
    args: Record<string, unknown>,
    correlationId?: string,
  ) => Promise<unknown> | unknown,
): () => void {
  port.onmessage = async (
    e: MessageEvent<{ id: number; name: string; args: Record<string, unknown>; correlationId?: string }>,
  ) => {
    const { id, name, args, correlationId } = e.data;
    try {
      port.postMessage({ id, ok: true, result: await handler(name, args, correlationId) });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const retriable = retriableOf(err);
      port.postMessage({
        id,
        ok: false,
        error: {
          name: error.name,
          message: error.message,
          ...(retriable === undefined ? {} : { retriable }),
        },
      });
    }
  };
  return () => port.close();
}
