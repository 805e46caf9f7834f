/**
 * {@linkcode LlmToolbox}es: over an MCP server of the node's own catalogue (the main thread's doors —
 * `/api/ask`, `analyst.ask` — get a server bound to their caller and allow-list, so access control and tool
 * metrics are those of every MCP client), and over a Worker's `ctx.tools`.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { ToolClient } from "../actors/runtime/tool_client.ts";
import type { AnyToolDefinition } from "../tools/tool_definition.ts";
import { createToolServer } from "../tools/tool_server.ts";
import type { ListedTool, LlmToolbox } from "./llm_step.ts";

/** A toolbox that must be closed. */
export interface ClosableToolbox extends LlmToolbox {
  close(): Promise<void>;
}

/**
 * A toolbox over a fresh MCP server of `tools`, bound to `caller` and `allow`.
 *
 * @param tools the node's catalogue
 * @param caller the caller identity (e.g. `api:ops`), as tool metrics and refusals name it
 * @param allow the tool patterns it may call
 * @returns the connected toolbox
 */
export async function mcpToolbox(
  tools: readonly AnyToolDefinition[],
  caller: string,
  allow: readonly string[],
): Promise<ClosableToolbox> {
  const server = createToolServer({ caller, allow: [...allow], tools: [...tools] });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: caller, version: "0.1.0" });
  await client.connect(clientSide);
  return {
    async list() {
      return (await client.listTools()).tools as ListedTool[];
    },
    async call(name, args, signal) {
      const result = await client.callTool({ name, arguments: args }, undefined, {
        signal,
      }) as CallToolResult;
      if (result.isError) {
        const text = result.content.map((c: { type: string; text?: string }) => c.text ?? "").join("");
        const s = result.structuredContent as { error?: string } | undefined;
        throw Object.assign(new Error(text), {
          remoteName: s?.error === "access_denied" ? "AccessDenied" : "ToolError",
        });
      }
      return result.structuredContent ?? result.content;
    },
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/**
 * A toolbox over a Worker's `ctx.tools`.
 *
 * @param tools the agent's tool client
 * @returns the toolbox
 */
export function workerToolbox(tools: ToolClient): LlmToolbox {
  return {
    list: async () => (await tools.list()) as ListedTool[],
    call: (name, args, signal) => tools.call(name, args, { signal }),
  };
}
