/**
 * `qistream start`: loads the configuration, sets up logging and metrics, starts the HTTP server and the
 * pipeline (connector, topics, schemas, databases, MCP tools, the supervision tree of agents), prints where to
 * look, and runs until SIGINT/SIGTERM; then stops sources, drains and commits, stops consumers and closes
 * connections within `node.shutdownTimeoutMs`. When the root supervisor gives up, it does the same and exits 1.
 *
 * @module
 */
import {
  activeAgents,
  ConfigError,
  enableDefaultMetrics,
  getLogger,
  type HttpServer,
  setupLogging,
  startHttpServer,
} from "../core/mod.ts";
import { type RunningPipeline, startPipeline } from "../pipeline/mod.ts";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
import { loadCommandConfig } from "./_load_command_config.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream start [--config PATH]

Runs this node: validates the pipeline file, connects to the log (Kafka when connections.kafka or
KAFKA_BROKERS is set, else the embedded log in the data directory), creates the declared topics, registers
the schemas, opens the databases, and starts the agents under the supervision tree: the sources publish,
the sinks store into PostgreSQL / ClickHouse. Serves /metrics, /healthz, /readyz, /api/tree and the MCP
tools at /mcp (bearer token), and prints where each is. Runs until Ctrl-C or SIGTERM, then drains and
commits what was processed before it exits (within node.shutdownTimeoutMs); exits 1 when the root
supervisor gives up, 2 on a bad configuration.

Logs go to stderr: readable lines in a terminal, JSON Lines otherwise (QISTREAM_LOG_FORMAT=json|pretty
forces one; QISTREAM_LOG_LEVEL sets the level).

Options:
  -c, --config PATH  pipeline file (default: $QISTREAM_CONFIG, else pipeline.yaml)
  -h, --help         show this help`;

/** `qistream start`. */
export const startCommand: Command = {
  name: "start",
  summary: "run this node: sources, sinks and agents under supervision, HTTP endpoints and MCP tools",
  usage: USAGE,
  async run(args, context) {
    const parsed = parseCommandArgs(args, USAGE, {
      config: { type: "string", short: "c" },
      help: { type: "boolean", short: "h" },
    }, false);
    if (typeof parsed === "number") return parsed;
    const { values } = parsed;

    try {
      setupLogging();
    } catch (e) {
      console.error((e as Error).message);
      return EXIT_USAGE;
    }
    const log = getLogger("start");

    const loaded = await loadCommandConfig(values.config ?? context.config);
    if (typeof loaded === "number") return loaded;
    const { config, file, envOverrides } = loaded;
    await Deno.mkdir(config.node.dataDir, { recursive: true });
    enableDefaultMetrics();

    let http: HttpServer;
    try {
      http = startHttpServer({ host: config.node.http.host, port: config.node.http.port });
    } catch (e) {
      console.error(
        `Cannot start the HTTP server on ${config.node.http.host}:${config.node.http.port}: ${e}`,
      );
      return EXIT_FAILURE;
    }

    const agents = activeAgents(config);
    const gaveUp = new AbortController();
    let gaveUpWith = "";
    let pipeline: RunningPipeline;
    try {
      pipeline = await startPipeline({
        config,
        http,
        onGiveUp: (reason) => {
          if (reason.kind === "crashed") gaveUpWith = reason.error.message;
          gaveUp.abort();
        },
      });
    } catch (e) {
      console.error((e as Error).message);
      log.error("start failed: {error}", { error: e });
      await http.shutdown(config.node.shutdownTimeoutMs);
      return e instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE;
    }
    log.info("node {node} started with {file}", {
      node: config.node.name,
      file,
      envOverrides,
      agents: agents.start.map((a) => a.id),
      skipped: agents.skipped,
    });
    console.log(
      banner({
        http,
        file,
        envOverrides,
        dataDir: config.node.dataDir,
        name: config.node.name,
        agents,
        where: pipeline.where,
      }),
    );

    const reason = await waitForStop(
      AbortSignal.any([gaveUp.signal, ...(context.signal ? [context.signal] : [])]),
    );
    log.info("stopping on {reason}; waiting at most {timeoutMs} ms", {
      reason,
      timeoutMs: config.node.shutdownTimeoutMs,
    });
    const force = () => {
      log.warn("second signal: exiting without waiting");
      Deno.exit(130);
    };
    if (reason !== "abort") Deno.addSignalListener(reason as Deno.Signal, force);
    const deadline = AbortSignal.timeout(config.node.shutdownTimeoutMs);
    const stopped = await Promise.race([
      pipeline.stop().then(() => true),
      new Promise<boolean>((resolve) => deadline.addEventListener("abort", () => resolve(false))),
    ]);
    if (!stopped) {
      log.warn("the pipeline did not stop within {timeoutMs} ms", {
        timeoutMs: config.node.shutdownTimeoutMs,
      });
    }
    const clean = stopped && await http.shutdown(config.node.shutdownTimeoutMs);
    if (reason !== "abort") Deno.removeSignalListener(reason as Deno.Signal, force);
    log.info("node {node} stopped", { node: config.node.name, clean });
    if (gaveUp.signal.aborted) {
      console.error(
        "The root supervisor gave up (agents kept failing): stopped after committing what was processed." +
          (gaveUpWith ? `\n  ${gaveUpWith}` : ""),
      );
      return EXIT_FAILURE;
    }
    return clean ? EXIT_OK : EXIT_FAILURE;
  },
};

function banner(
  info: {
    http: HttpServer;
    file: string;
    envOverrides: readonly string[];
    dataDir: string;
    name: string;
    agents: ReturnType<typeof activeAgents>;
    where: RunningPipeline["where"];
  },
): string {
  const abs = (p: string) => (p.startsWith("/") ? p : `${Deno.cwd()}/${p.replace(/^\.\//, "")}`);
  const overrides = info.envOverrides.length > 0 ? ` (overridden by ${info.envOverrides.join(", ")})` : "";
  const skipped = info.agents.skipped.map((s) => `${s.id}: ${s.reason}`);
  // The link carries the local admin token only on a loopback address (a developer's machine): a node
  // listening on 0.0.0.0 (a container) would put an admin secret into its logs.
  const loopback = /^(127\.|::1$|localhost$)/.test(info.http.host);
  const dashboard = info.where.adminToken && loopback
    ? `${info.http.url}/?token=${info.where.adminToken}`
    : info.where.adminToken
    ? `${info.http.url}/ (sign in with the admin token in ${info.dataDir}/admin-token)`
    : `${info.http.url}/ (sign in with a token from mcp.tokens)`;
  return [
    `Dashboard: ${dashboard}`,
    `qistream node "${info.name}" is up`,
    `  config     ${abs(info.file)}${overrides}`,
    `  data dir   ${abs(info.dataDir)}`,
    `  stream     ${info.where.log}`,
    `  schemas    ${info.where.registry}`,
    ...(info.where.postgres ? [`  postgres   ${info.where.postgres}`] : []),
    ...(info.where.postgresQuery ? [`  pg query   ${info.where.postgresQuery}`] : []),
    ...(info.where.clickhouse ? [`  clickhouse ${info.where.clickhouse}`] : []),
    ...(info.where.clickhouseQuery ? [`  ch query   ${info.where.clickhouseQuery}`] : []),
    `  agents     ${info.where.agents.join(", ") || "none"}`,
    ...skipped.map((s) => `  skipped    ${s}`),
    `  metrics    ${info.http.url}/metrics`,
    `  liveness   ${info.http.url}/healthz`,
    `  readiness  ${info.http.url}/readyz`,
    `  tree       ${info.http.url}/api/tree (bearer token, as for /mcp)`,
    `  lifecycle  POST ${info.http.url}/api/agents/<agent>/pause|resume|stop|start|restart (admin token)`,
    `  MCP        ${info.http.url}/mcp (Streamable HTTP; bearer token ${
      info.where.mcpTokenFile ? `in ${info.where.mcpTokenFile}, role reader` : "from mcp.tokens"
    })`,
    ...(info.where.llm
      ? [
        `  llm        ${info.where.llm}; POST ${info.http.url}/api/ask (SSE), MCP tool analyst.ask`,
        `  ask        deno task ask "how many BTC-USD ticks arrived in the last minute?"`,
      ]
      : []),
    `  try        deno task tools call postgres.query '{"sql":"SELECT count(*) FROM market_ticks"}'`,
    "Press Ctrl-C (or send SIGTERM) to stop.",
  ].join("\n");
}

/** Resolves with the signal name (or "abort") on SIGINT, SIGTERM or when `signal` aborts. */
function waitForStop(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    const handlers = signals.map((name) => [name, () => done(name)] as const);
    const done = (why: string) => {
      for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
      signal?.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onAbort = () => done("abort");
    for (const [name, handler] of handlers) Deno.addSignalListener(name, handler);
    if (signal?.aborted) done("abort");
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}
