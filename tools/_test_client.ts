/**
 * Test helper: an SDK `Client` connected in memory to a `createToolServer` server.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { AnyToolDefinition } from "./tool_definition.ts";
import { createToolServer } from "./tool_server.ts";

/** A connected test client. */
export interface TestToolClient {
  client: Client;
  /** Calls a tool; returns its structured content, throws with the error text when `isError`. */
  call(name: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Calls a tool and returns the raw result. */
  raw(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** Connects a client to a fresh server with the given tools and allow-list. */
export async function connectTestClient(
  tools: AnyToolDefinition[],
  allow: readonly string[] = ["*"],
  caller = "test",
): Promise<TestToolClient> {
  const server = createToolServer({ caller, allow, tools });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: "test", version: "0" });
  await client.connect(b);
  const raw = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  return {
    client,
    raw,
    async call(name, args) {
      const r = await raw(name, args);
      if (r.isError) {
        throw new Error(r.content.map((c: { type: string; text?: string }) => c.text ?? "").join(""));
      }
      return r.structuredContent as Record<string, unknown>;
    },
    async close() {
      await client.close();
      await server.close();
    },
  };
}
