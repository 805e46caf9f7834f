/**
 * Helpers for the end-to-end tests: a pipeline file for one test run (unique topics, groups and tables), a
 * running node on a free port, an MCP client on its `/mcp`, and waiting for a condition.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { parseConfig } from "../../core/config_loader.ts";
import type { Config } from "../../core/config_schema.ts";
import { startHttpServer } from "../../core/http_server.ts";
import { type RunningPipeline, startPipeline } from "../../pipeline/mod.ts";

/** Polls `probe` until it returns true or `timeoutMs` passes; returns the last value it saw for the message. */
export async function waitFor(
  what: string,
  probe: () => Promise<{ done: boolean; seen: unknown }>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: unknown;
  while (Date.now() < deadline) {
    const result = await probe().catch((error) => ({ done: false, seen: String(error) }));
    seen = result.seen;
    if (result.done) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(seen)}`);
}

/** Parses a pipeline file for a test, with `env` standing in for the environment. */
export function testConfig(yaml: string, env: Record<string, string | undefined>): Config {
  return parseConfig(yaml, { file: "<e2e>", env: (name) => env[name] }).config;
}

/** A node: HTTP server on a free port plus the pipeline. */
export interface TestNode {
  pipeline: RunningPipeline;
  url: string;
  stop(): Promise<void>;
}

/** Starts the HTTP server and the pipeline of `config`. */
export async function startNode(config: Config): Promise<TestNode> {
  const http = startHttpServer({ host: "127.0.0.1", port: 0 });
  try {
    const pipeline = await startPipeline({ config, http });
    return {
      pipeline,
      url: http.url,
      stop: async () => {
        await pipeline.stop();
        await http.shutdown(5_000);
      },
    };
  } catch (error) {
    await http.shutdown(1_000);
    throw error;
  }
}

/** Calls one MCP tool of a node and returns its structured result. */
export async function callTool(
  url: string,
  token: string,
  name: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const client = new Client({ name: "e2e", version: "0.1.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  try {
    const result = await client.callTool({ name, arguments: args });
    if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
    return result.structuredContent as Record<string, unknown>;
  } finally {
    await client.close();
  }
}

/** A short unique suffix for names of one test run (topics, groups, tables). */
export function runId(): string {
  return `${Date.now().toString(36)}${crypto.randomUUID().slice(0, 6)}`;
}
