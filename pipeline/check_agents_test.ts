import assert from "node:assert/strict";
import { ConfigError } from "../core/config_error.ts";
import { loadConfig, parseConfig } from "../core/config_loader.ts";
import { activeAgents } from "../core/config_active_agents.ts";
import { declaredTools } from "../tools/tool_catalog.ts";
import { loadAgentRegistry } from "./agent_registry.ts";
import { agentChecks, resolveAgent } from "./check_agents.ts";

const registry = await loadAgentRegistry();
const check = agentChecks(registry, declaredTools().map((t) => t.name));
const noEnv = () => undefined;

/** The problems of a file as `path: message` lines; [] when it is valid. */
function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, { env: (n) => env[n], check });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

const TOPICS = `
topics:
  market.ticks: {}
  market.bars: {}
  market.dead-letter: {}
`;

Deno.test("check: a wrong port, a negative partition count, an unknown kind and a bad agent config — all in one report", () => {
  const problems = problemsOf(`
node: { http: { port: 70000 } }
topics:
  market.ticks: { partitions: -1 }
  market.dead-letter: {}
agents:
  feed: { kind: bloomberg, publish: [market.ticks] }
  sink:
    kind: postgres-sink
    subscribe: { topics: [market.ticks] }
    config: { breaker: { failureThreshold: 0 }, retry: { jitter: 2 } }
`);
  assert.deepEqual(problems.map((p) => p.split(":")[0]), [
    "node.http.port",
    "topics.market.ticks.partitions",
    "agents.feed.kind",
    "agents.sink.config.retry.jitter",
    "agents.sink.config.breaker.failureThreshold",
  ]);
  assert.match(
    problems[2]!,
    /unknown kind "bloomberg" \(known: analyst, bar-builder, clickhouse-sink, cryptocompare, /,
  );
  assert.match(problems[4]!, /expected number to be >=1, received 0/);
});

Deno.test("check: tools an agent names must exist and allow what its kind calls", () => {
  const problems = problemsOf(`${TOPICS}
agents:
  sink:
    kind: postgres-sink
    subscribe: { topics: [market.ticks] }
    tools: [postgres.insert_rows, postgres.drop_everything]
`);
  assert.deepEqual(problems, [
    'agents.sink.tools.1: unknown tool "postgres.drop_everything" (known: ' +
    declaredTools().map((t) => t.name).join(", ") + ")",
    "agents.sink.tools: the postgres-sink kind calls postgres.ensure_table, which this list does not allow",
  ]);
  assert.deepEqual(
    problemsOf(`${TOPICS}
agents:
  sink: { kind: postgres-sink, subscribe: { topics: [market.ticks] }, tools: ["postgres.*"] }
`),
    [],
    "a namespace pattern that covers the kind's calls is fine",
  );
});

Deno.test("check: the topics a kind writes for its config are declared and listed in publish", () => {
  assert.deepEqual(
    problemsOf(`${TOPICS}
agents:
  gen: { kind: synthetic, publish: [market.ticks], config: { topics: { tick: market.quotes } } }
  bars: { kind: bar-builder, subscribe: { topics: [market.ticks] }, publish: [market.dead-letter] }
`),
    [
      'agents.gen.config: the synthetic kind writes to topic "market.quotes", which is not declared ' +
      "(declared topics: market.ticks, market.bars, market.dead-letter)",
      'agents.bars.publish: the bar-builder kind writes to topic "market.bars", which this list lacks',
    ],
  );
});

Deno.test("check: a consumer needs a subscription and a source has none", () => {
  assert.deepEqual(
    problemsOf(`${TOPICS}
agents:
  sink: { kind: postgres-sink }
  gen: { kind: synthetic, publish: [market.ticks], subscribe: { topics: [market.ticks] } }
`),
    [
      "agents.sink.subscribe: a postgres-sink agent consumes: it needs topics to read",
      "agents.gen.subscribe: a synthetic agent is a source: it reads no topics",
    ],
  );
});

Deno.test("check: a connection the kind requires must be configured unless the agent waits for it (requires)", () => {
  const sink = `${TOPICS}
agents:
  ch: { kind: clickhouse-sink, subscribe: { topics: [market.ticks] }REQUIRES }
`;
  assert.deepEqual(problemsOf(sink.replace("REQUIRES", "")), [
    "agents.ch.requires: a clickhouse-sink agent needs connections.clickhouse, which is not configured " +
    "(configure it, or add clickhouse to requires so the agent starts only when it is)",
  ]);
  assert.deepEqual(problemsOf(sink.replace("REQUIRES", ", requires: [clickhouse]")), []);
  assert.deepEqual(problemsOf(sink.replace("REQUIRES", ""), { CLICKHOUSE_URL: "http://127.0.0.1:8123" }), []);
  assert.deepEqual(problemsOf(sink.replace("REQUIRES", ", enabled: false")), []);
});

Deno.test("check: connection defaults are part of the agent's config; a bad one is reported at the agent", () => {
  assert.deepEqual(
    problemsOf(`${TOPICS}
connections:
  cryptocompare: { url: "ftp://min-api.cryptocompare.com" }
agents:
  cc: { kind: cryptocompare, publish: [market.ticks], config: { wsUrl: "http://not-a-websocket" } }
`),
    [
      'agents.cc.config.url: expected an http(s) URL, received "ftp://min-api.cryptocompare.com"',
      'agents.cc.config.wsUrl: expected a ws(s) URL, received "http://not-a-websocket"',
    ],
  );
});

Deno.test("resolve: connections give defaults, the agent's config wins; batch: file, then kind, then pipeline", () => {
  const { config } = parseConfig(
    `${TOPICS}
connections:
  cryptocompare: { apiKey: "\${KEY}" }
  clickhouse: { url: "http://127.0.0.1:8123" }
agents:
  cc: { kind: cryptocompare, publish: [market.ticks], config: { url: "http://127.0.0.1:9" } }
  ch: { kind: clickhouse-sink, subscribe: { topics: [market.ticks] }, batch: { maxWaitMs: 50 } }
  bars: { kind: bar-builder, subscribe: { topics: [market.ticks] }, publish: [market.bars] }
`,
    { env: (n) => (n === "KEY" ? "k-123" : undefined), check },
  );
  const cc = resolveAgent("cc", config, registry);
  assert.deepEqual(cc.config, {
    deadLetterTopic: "market.dead-letter",
    apiKey: "k-123",
    url: "http://127.0.0.1:9",
  });
  assert.deepEqual(resolveAgent("ch", config, registry).batch, {
    maxRecords: 2000,
    maxWaitMs: 50,
    deadlineMs: 60_000,
  });
  assert.deepEqual(resolveAgent("ch", config, registry).tools, [
    "clickhouse.ensure_table",
    "clickhouse.insert_rows",
  ]);
  assert.deepEqual(resolveAgent("bars", config, registry).batch, {
    maxRecords: 500,
    maxWaitMs: 100,
    deadlineMs: 60_000,
  });
});

Deno.test("check: the shipped pipeline.yaml passes, with no services and with all of them", async () => {
  const path = new URL("../pipeline.yaml", import.meta.url).pathname;
  const bare = await loadConfig({ path, env: noEnv, check });
  assert.deepEqual(activeAgents(bare.config).start.map((a) => a.id), [
    "synthetic",
    "bar-builder",
    "market-monitor",
    "postgres-sink",
  ]);
  const env: Record<string, string> = {
    KAFKA_BROKERS: "127.0.0.1:9092",
    DATABASE_URL: "postgres://127.0.0.1/q",
    CLICKHOUSE_URL: "http://127.0.0.1:8123",
    CRYPTOCOMPARE_API_KEY: "k",
    TWELVEDATA_API_KEY: "k",
    OPENAI_API_KEY: "k",
  };
  const full = await loadConfig({ path, env: (n) => env[n], check });
  assert.equal(activeAgents(full.config).start.length, 8);
});

Deno.test("check: a kind whose tools may narrow (the analyst) takes fewer, and refuses any other tool", () => {
  const analyst = (tools: string) =>
    `${TOPICS}
  market.alerts: { partitions: 1 }
  market.insights: { partitions: 1 }
  llm.audit: { partitions: 1 }
connections: { llm: { baseUrl: "http://127.0.0.1:9/v1" } }
agents:
  analyst:
    kind: analyst
    subscribe: { topics: [market.alerts], group: g }
    publish: [market.insights, llm.audit, market.dead-letter]
    tools: ${tools}
`;
  assert.deepEqual(problemsOf(analyst("[postgres.describe, postgres.query]")), []);
  assert.deepEqual(problemsOf(analyst("[postgres.query, stream.publish]")), [
    "agents.analyst.tools.1: the analyst kind may be given only postgres.describe, postgres.query, " +
    "clickhouse.describe, clickhouse.query",
  ]);
});

Deno.test("check: a disabled agent's config is still checked; what depends on the rest of the file is not", () => {
  assert.deepEqual(
    problemsOf(`${TOPICS}
agents:
  off: { kind: synthetic, enabled: false, config: { topics: { tick: market.quotes } } }
  broken: { kind: synthetic, enabled: false, config: { seed: 1.5 } }
`),
    ["agents.broken.config.seed: expected int, received number"],
  );
});

Deno.test("connection defaults: only a configured connection's, with the whole section at hand; undefined dropped", async () => {
  const { connectionDefaults, defineAgent } = await import("../actors/runtime/agent_spec.ts");
  const spec = defineAgent({
    name: "probe",
    summary: "s",
    role: "source",
    connections: {
      defaults: {
        llm: (llm, all) => ({
          model: llm.model,
          apiKey: llm.apiKey,
          hasPostgres: all.postgres !== undefined,
        }),
        twelvedata: () => ({ never: true }),
      },
    },
  });
  const llm = {
    baseUrl: "https://api.openai.com/v1",
    model: "m",
    timeoutMs: 1000,
    attempts: 4,
    breaker: { failureThreshold: 5, openMs: 30_000 },
    tokensPerHour: 1000,
    redact: [],
    auditTopic: "llm.audit",
  };
  assert.deepEqual(connectionDefaults(spec, { llm }), { model: "m", hasPostgres: false });
  assert.deepEqual(connectionDefaults(spec, {}), {});
});
