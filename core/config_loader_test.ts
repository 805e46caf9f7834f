import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { loadConfig, parseConfig } from "./config_loader.ts";
import { activeAgents } from "./config_active_agents.ts";

const noEnv = () => undefined;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

/** Parses `text` expecting a ConfigError, and returns it. */
function configError(text: string, env: (n: string) => string | undefined = noEnv): ConfigError {
  try {
    parseConfig(text, { file: "test.yaml", env });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("an empty file is valid and yields the defaults", () => {
  const { config } = parseConfig("", { env: noEnv });
  assert.equal(config.node.dataDir, "./data");
  assert.equal(config.node.http.host, "127.0.0.1");
  assert.equal(config.node.http.port, 8080);
  assert.deepEqual(config.topics, {});
  assert.deepEqual(config.agents, {});
  assert.equal(config.connections.kafka, undefined);
  assert.deepEqual(config.mcp.tokens, []);
});

Deno.test("topic and agent defaults are filled in", () => {
  const { config } = parseConfig(
    "topics:\n  t: {}\nagents:\n  a:\n    kind: synthetic\n    publish: [t]\n",
    { env: noEnv },
  );
  assert.deepEqual(config.topics["t"], {
    partitions: 6,
    replicationFactor: 1,
    cleanupPolicy: "delete",
    compression: "none",
  });
  const agent = config.agents["a"]!;
  assert.equal(agent.instances, 1);
  assert.equal(agent.restart, "permanent");
  assert.equal(agent.enabled, true);
  // Unset batch fields take the kind's defaults, then BATCH_DEFAULTS, when the agent is resolved.
  assert.deepEqual(agent.batch, {});
});

Deno.test("a wrong type names the field path, expected and found", () => {
  const e = configError("topics:\n  market.ticks:\n    partitions: six\n");
  assert.equal(e.file, "test.yaml");
  assert.deepEqual(e.problems, [{
    path: "topics.market.ticks.partitions",
    message: "expected number, received string",
  }]);
  assert.match(e.message, /test\.yaml/);
  assert.match(e.message, /topics\.market\.ticks\.partitions: expected number, received string/);
});

Deno.test("connections.kafka.compression accepts every Kafka codec and names the field when wrong", () => {
  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
    const { config } = parseConfig(`connections:\n  kafka:\n    brokers: a:1\n    compression: ${codec}\n`, {
      env: noEnv,
    });
    assert.equal(config.connections.kafka?.compression, codec);
  }
  assert.equal(
    parseConfig("connections:\n  kafka:\n    brokers: a:1\n", { env: noEnv }).config.connections.kafka
      ?.compression,
    "none",
  );
  const e = configError("connections:\n  kafka:\n    brokers: a:1\n    compression: brotli\n");
  assert.match(e.message, /connections\.kafka\.compression/);
});

Deno.test("a batch deadline is a positive integer of ms, per agent; zero is refused with its path", () => {
  const ok = parseConfig("agents:\n  a:\n    kind: x\n    batch:\n      deadlineMs: 1500\n", { env: noEnv });
  assert.equal(ok.config.agents["a"]!.batch.deadlineMs, 1500);
  const e = configError("agents:\n  a:\n    kind: x\n    batch:\n      deadlineMs: 0\n");
  assert.deepEqual(e.problems.map((p) => p.path), ["agents.a.batch.deadlineMs"]);
  assert.match(e.message, /agents\.a\.batch\.deadlineMs: .*>= ?1/);
});

Deno.test("a missing required field names its path", () => {
  const e = configError("agents:\n  feed:\n    instances: 2\n");
  assert.match(e.message, /agents\.feed\.kind: required field is missing \(expected string\)/);
});

Deno.test("an unknown key is refused with its parent path", () => {
  const e = configError("connections:\n  kafka:\n    brokerz: [localhost:9092]\n    brokers: [a:1]\n");
  assert.match(e.message, /connections\.kafka: unknown key "brokerz"/);
});

Deno.test("every problem is listed, not only the first", () => {
  const e = configError(
    "node:\n  http:\n    port: 70000\ntopics:\n  t:\n    cleanupPolicy: shred\nbogus: 1\n",
  );
  const paths = e.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ["(root)", "node.http.port", "topics.t.cleanupPolicy"]);
  assert.match(e.message, /topics\.t\.cleanupPolicy: expected one of "delete", "compact", received "shred"/);
});

Deno.test("an unset ${ENV} without default is an error naming the field and the variable", () => {
  const e = configError("connections:\n  postgres:\n    url: ${NO_SUCH_DB_URL}\n");
  assert.equal(e.problems.length, 1);
  assert.equal(e.problems[0]!.path, "connections.postgres.url");
  assert.match(e.problems[0]!.message, /NO_SUCH_DB_URL is not set/);
});

Deno.test("${ENV:-default} uses the variable when set and the default otherwise", () => {
  const text = "node:\n  dataDir: ${DATA:-/var/lib/q}\n  http:\n    port: ${PORT:-9000}\n";
  const unset = parseConfig(text, { env: noEnv }).config;
  assert.equal(unset.node.dataDir, "/var/lib/q");
  assert.equal(unset.node.http.port, 9000);
  const set = parseConfig(text, { env: envOf({ DATA: "/srv/q", PORT: "7000" }) }).config;
  assert.equal(set.node.dataDir, "/srv/q");
  assert.equal(set.node.http.port, 7000);
  const e = configError(text, envOf({ PORT: "eighty" }));
  assert.match(e.message, /node\.http\.port: expected number, received string/);
});

Deno.test("$$ is a literal dollar sign", () => {
  const { config } = parseConfig("node:\n  name: cost$$${X:-1}\n", { env: noEnv });
  assert.equal(config.node.name, "cost$1");
});

Deno.test("environment shortcuts override the file and create missing sections", () => {
  const text = "connections:\n  postgres:\n    url: postgres://file-host/q\n";
  const { config, envOverrides } = parseConfig(text, {
    env: envOf({
      KAFKA_BROKERS: "k1:9092, k2:9092",
      DATABASE_URL: "postgres://env-host/q",
      CLICKHOUSE_URL: "http://ch:8123",
      OPENAI_API_KEY: "sk-test",
      QISTREAM_HTTP_PORT: "0",
      QISTREAM_DATA_DIR: "/tmp/q",
    }),
  });
  assert.deepEqual(config.connections.kafka?.brokers, ["k1:9092", "k2:9092"]);
  assert.equal(config.connections.postgres?.url, "postgres://env-host/q");
  assert.equal(config.connections.clickhouse?.url, "http://ch:8123");
  assert.equal(config.connections.llm?.apiKey, "sk-test");
  assert.equal(config.connections.llm?.baseUrl, "https://api.openai.com/v1");
  assert.equal(config.node.http.port, 0);
  assert.equal(config.node.dataDir, "/tmp/q");
  assert.deepEqual(
    [...envOverrides].sort(),
    [
      "CLICKHOUSE_URL",
      "DATABASE_URL",
      "KAFKA_BROKERS",
      "OPENAI_API_KEY",
      "QISTREAM_DATA_DIR",
      "QISTREAM_HTTP_PORT",
    ],
  );
});

Deno.test("an invalid environment shortcut names the variable", () => {
  const e = configError("", envOf({ QISTREAM_HTTP_PORT: "http" }));
  assert.match(e.message, /node\.http\.port: expected number, received string \(set by QISTREAM_HTTP_PORT\)/);
});

Deno.test("literal secrets are refused; ${ENV} and passwordFile are accepted", async () => {
  const literal = configError(
    "connections:\n  clickhouse:\n    url: http://ch:8123\n    password: hunter2\n",
  );
  assert.match(literal.message, /connections\.clickhouse\.password: secrets must come from the environment/);
  assert.doesNotMatch(literal.message, /hunter2/);
  const inUrl = configError("connections:\n  postgres:\n    url: postgres://u:hunter2@db/q\n");
  assert.match(inUrl.message, /connections\.postgres\.url: URL contains a literal password/);
  assert.doesNotMatch(inUrl.message, /hunter2/);

  const fromEnv = parseConfig(
    "connections:\n  clickhouse:\n    url: http://ch:8123\n    password: ${CH_PW}\n",
    {
      env: envOf({ CH_PW: "s3cret" }),
    },
  );
  assert.equal(fromEnv.config.connections.clickhouse?.password, "s3cret");

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ch.pw`, "from-file\n");
    await Deno.writeTextFile(
      `${dir}/p.yaml`,
      "connections:\n  clickhouse:\n    url: http://ch:8123\n    passwordFile: ch.pw\n",
    );
    const fromFile = await loadConfig({ path: `${dir}/p.yaml`, env: noEnv });
    assert.equal(fromFile.config.connections.clickhouse?.password, "from-file");
    await Deno.writeTextFile(
      `${dir}/q.yaml`,
      "connections:\n  clickhouse:\n    url: http://ch:8123\n    passwordFile: missing.pw\n",
    );
    await assert.rejects(loadConfig({ path: `${dir}/q.yaml`, env: noEnv }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /connections\.clickhouse\.passwordFile: cannot read secret file/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validation errors never echo a secret value", () => {
  const e = configError('mcp:\n  tokens:\n    - { name: ops, token: "${T}" }\n', envOf({ T: "short-tok" }));
  assert.match(e.message, /mcp\.tokens\[0\]\.token: expected a token of at least 16 characters/);
  assert.doesNotMatch(e.message, /short-tok/);
});

Deno.test("a subscription's consumer group defaults to the agent id", () => {
  const { config } = parseConfig(
    "topics:\n  t: {}\nagents:\n  sink-a:\n    kind: postgres-sink\n    subscribe: { topics: [t] }\n",
    { env: noEnv },
  );
  assert.equal(config.agents["sink-a"]?.subscribe?.group, "sink-a");
});

Deno.test("agents may only use declared topics", () => {
  const e = configError(
    "topics:\n  market.ticks: {}\nagents:\n  s:\n    kind: synthetic\n    publish: [market.tick]\n",
  );
  assert.match(
    e.message,
    /agents\.s\.publish\[0\]: unknown topic "market\.tick" \(declared topics: market\.ticks\)/,
  );
});

Deno.test("YAML syntax errors report the line", () => {
  const e = configError("topics:\n  a: [1, 2\n");
  assert.match(e.problems[0]!.path, /^\(line \d+, column \d+\)$/);
});

Deno.test("a missing file is a ConfigError naming the file", async () => {
  await assert.rejects(loadConfig({ path: "/nonexistent/x.yaml", env: noEnv }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /\/nonexistent\/x\.yaml:\n {2}- \(file\): file not found/);
    return true;
  });
});

Deno.test("QISTREAM_CONFIG selects the file when no path is given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.yaml`, "node:\n  name: from-env-path\n");
    const { config, file } = await loadConfig({ env: envOf({ QISTREAM_CONFIG: `${dir}/c.yaml` }) });
    assert.equal(file, `${dir}/c.yaml`);
    assert.equal(config.node.name, "from-env-path");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the default pipeline.yaml loads; clickhouse-sink starts only with CLICKHOUSE_URL", async () => {
  const path = new URL("../pipeline.yaml", import.meta.url).pathname;
  const { config } = await loadConfig({ path, env: noEnv });
  assert.equal(config.topics["market.ticks"]?.partitions, 6);
  assert.ok(config.topics["market.dead-letter"]);
  assert.equal(config.connections.kafka, undefined, "no brokers => embedded log");
  assert.equal(config.agents["synthetic"]?.kind, "synthetic");
  assert.deepEqual(config.agents["postgres-sink"]?.subscribe?.topics, [
    "market.ticks",
    "market.bars",
    "market.alerts",
    "market.insights",
  ]);
  for (const topic of ["market.alerts", "market.insights"]) {
    assert.ok(config.topics[topic], `${topic} declared`);
  }

  const without = activeAgents(config);
  assert.deepEqual(without.start.map((a) => a.id), [
    "synthetic",
    "bar-builder",
    "market-monitor",
    "postgres-sink",
  ]);
  assert.ok(config.topics["market.bars"], "bar-builder's output topic is declared");
  assert.ok(config.topics["market.alerts"], "market-monitor's output topic is declared");
  assert.equal(config.topics["market.monitor-state"]?.cleanupPolicy, "compact", "checkpoints are compacted");
  assert.deepEqual(without.skipped, [
    { id: "cryptocompare", reason: "requires connections.cryptocompare, which is not configured" },
    { id: "twelvedata", reason: "requires connections.twelvedata, which is not configured" },
    { id: "replay", reason: "enabled: false" },
    { id: "clickhouse-sink", reason: "requires connections.clickhouse, which is not configured" },
    { id: "analyst", reason: "requires connections.llm, which is not configured" },
  ]);

  const withCh = await loadConfig({ path, env: envOf({ CLICKHOUSE_URL: "http://127.0.0.1:8123" }) });
  assert.deepEqual(activeAgents(withCh.config).start.map((a) => a.id), [
    "synthetic",
    "bar-builder",
    "market-monitor",
    "postgres-sink",
    "clickhouse-sink",
  ]);
});
