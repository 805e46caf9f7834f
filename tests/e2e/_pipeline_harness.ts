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
import type { ExitReason } from "../../supervisor/mod.ts";
import { waitFor as sharedWaitFor } from "../wait_for.ts";

/** Polls `probe` until it returns true or `timeoutMs` passes; returns the last value it saw for the message. */
export async function waitFor(
  what: string,
  probe: () => Promise<{ done: boolean; seen: unknown }>,
  timeoutMs = 60_000,
): Promise<void> {
  let seen: unknown;
  const done = async () => {
    const result = await probe().catch((error) => ({ done: false, seen: String(error) }));
    seen = result.seen;
    return result.done;
  };
  await sharedWaitFor(done, () => `${what}; last seen: ${JSON.stringify(seen)}`, {
    timeoutMs,
    intervalMs: 250,
  });
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

/** Starts the HTTP server and the pipeline of `config`; `onGiveUp` is called if the root supervisor gives up. */
export async function startNode(
  config: Config,
  options: { onGiveUp?: (reason: ExitReason) => void } = {},
): Promise<TestNode> {
  const http = startHttpServer({ host: "127.0.0.1", port: 0 });
  try {
    const pipeline = await startPipeline({ config, http, onGiveUp: options.onGiveUp });
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

const ROOT = new URL("../../", import.meta.url).pathname;

/** A `main.ts start` child process spawned by {@link spawnStart}. */
export interface StartedProcess {
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves when stdout and stderr are both read to the end. */
  readonly reading: Promise<unknown>;
  /** Everything it printed so far, stdout and stderr together. */
  output(): string;
  /** The node's base URL from the start banner, once the banner is printed. */
  url(): string | undefined;
  /** Kills it with SIGKILL if it is still running, and waits for it and its output (for `finally`). */
  kill(): Promise<void>;
}

/**
 * Runs `main.ts start ...args` from the project root with only what a newcomer's shell would have (PATH, HOME,
 * NO_COLOR, Deno's cache and certificate settings) plus `env`, collecting its output.
 *
 * @param args arguments after `start`, e.g. `["--config", file]`
 * @param env further environment variables
 * @returns the running process
 */
export function spawnStart(args: string[], env: Record<string, string> = {}): StartedProcess {
  const fullEnv: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
    ...env,
  };
  for (const name of ["DENO_DIR", "DENO_CERT", "NODE_EXTRA_CA_CERTS"]) {
    const value = Deno.env.get(name);
    if (value) fullEnv[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-worker-options", "main.ts", "start", ...args],
    cwd: ROOT,
    env: fullEnv,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  }));
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    child,
    status,
    reading,
    output: () => out,
    url: () => out.match(/metrics\s+(http:\/\/\S+)\/metrics/)?.[1],
    async kill() {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await status;
      await reading;
    },
  };
}

/**
 * Waits until `started` prints its start banner; fails at once if it exits first.
 *
 * @param started the process
 * @param what names the wait in the timeout message
 * @param timeoutMs how long to wait
 * @returns the node's base URL
 * @throws when it exits before the banner, or after `timeoutMs`
 */
export async function untilBanner(
  started: StartedProcess,
  what: string,
  timeoutMs = 90_000,
): Promise<string> {
  await Promise.race([
    waitFor(what, () => {
      return Promise.resolve({ done: started.url() !== undefined, seen: started.output().slice(-2000) });
    }, timeoutMs),
    started.status.then((s) => {
      throw new Error(`${what}: the process exited with ${s.code}:\n${started.output().slice(-4000)}`);
    }),
  ]);
  return started.url()!;
}
