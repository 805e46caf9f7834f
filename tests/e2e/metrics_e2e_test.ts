/**
 * End to end, observability: a real node (embedded log, embedded PostgreSQL, the synthetic source, a
 * CryptoCompare source against the local fake, a postgres-sink) runs until ticks are stored, a record is
 * dead-lettered and an actor restarted; then `/metrics` is scraped over HTTP and
 *
 * - every family the architecture requires is exposed with samples and the labels dashboards use;
 * - every metric named by the Grafana dashboards, the Prometheus alert rules and their promtool tests is a
 *   family the node exposes (so `deploy/` cannot drift from the code);
 * - every `qistream`-owned family the node exposes is documented in docs/observability.md, and every family
 *   documented there is registered somewhere in the source (drift in either direction fails).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { startFakeCryptoCompare } from "../fakes/mod.ts";
import { callTool, runId, startNode, testConfig, waitFor } from "./_pipeline_harness.ts";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

/** Synthetic ticks per run; at 30/s a run lasts 10 s: one restart, well under the intensity (5 in 30 s). */
const TICKS = 300;

/** One sample of the text exposition. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A family of the exposition: its `# TYPE` and its samples (histogram series folded in). */
interface Family {
  type: string;
  samples: Sample[];
}

/** Parses the Prometheus text exposition into families by name. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, { type: type[2]!, samples: [] });
  }
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!;
    }
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ""));
    assert.ok(family, `sample ${name} has no # TYPE line`);
    family.samples.push({ name, labels, value: Number(m[3]) });
  }
  return families;
}

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "le",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression reads, parsed loosely: strings, label matchers, ranges and grouping
 * clauses are dropped, then every identifier not called as a function and not a keyword is a metric name;
 * `_bucket`/`_sum`/`_count` are folded into their histogram family when `families` has it.
 */
function metricNamesIn(expr: string, families: ReadonlyMap<string, Family>): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const name = m[1]!;
    if (PROMQL_WORDS.has(name.toLowerCase())) continue;
    const base = name.replace(/_(bucket|sum|count)$/, "");
    names.add(families.get(base)?.type === "histogram" ? base : name);
  }
  return [...names];
}

/** Every `expr` string anywhere under a parsed JSON/YAML value. */
function exprsOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) { for (const v of value) exprsOf(v, out); }
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "expr" && typeof v === "string") out.push(v);
      else exprsOf(v, out);
    }
  }
  return out;
}

async function filesUnder(dir: URL, suffix: string): Promise<URL[]> {
  const out: URL[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) out.push(...await filesUnder(url, suffix));
    else if (entry.name.endsWith(suffix)) out.push(url);
  }
  return out;
}

/**
 * Metrics `deploy/` may name that a qistream process does not export itself. Each needs a reason.
 */
const NOT_FROM_QISTREAM = new Set([
  "up", // written by Prometheus for every scrape target (QistreamDown)
]);

function pipelineYaml(id: string, dataDir: string, fake: { restUrl: string; wsUrl: string }): string {
  return `
node: { name: metrics-e2e, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: e2e.dlq.${id} }
topics:
  e2e.ticks.${id}: { partitions: 3, schema: market.tick }
  e2e.dlq.${id}: { partitions: 1 }
agents:
  synthetic:
    kind: synthetic
    restart: permanent # a finished run is restarted: actor_restarts_total gets a sample
    publish: [e2e.ticks.${id}]
    config:
      topics: { tick: e2e.ticks.${id} }
      deadLetterTopic: e2e.dlq.${id}
      symbols: [BTC-USD, ETH-USD, AAPL]
      ratePerSecond: 30
      maxTicks: ${TICKS}
  cc:
    kind: cryptocompare
    publish: [e2e.ticks.${id}, e2e.dlq.${id}]
    config:
      apiKey: "\${CC_KEY}"
      url: ${fake.restUrl}
      wsUrl: ${fake.wsUrl}
      pairs: [BTC-USD]
      topics: { tick: e2e.ticks.${id} }
      deadLetterTopic: e2e.dlq.${id}
  pg:
    kind: postgres-sink
    instances: 2
    subscribe: { topics: [e2e.ticks.${id}], group: e2e.pg.${id}, fromBeginning: true }
    publish: [e2e.dlq.${id}]
    config: { table: e2e_ticks_${id} }
`;
}

/** Families the architecture requires, the labels each must carry, and what it stands for. */
const REQUIRED: readonly { family: string; labels: string[]; what: string }[] = [
  {
    family: "qistream_records_in_total",
    labels: ["group", "topic"],
    what: "messages in per agent (its group)",
  },
  { family: "source_records_published_total", labels: ["agent", "topic"], what: "messages out per agent" },
  { family: "qistream_records_out_total", labels: ["topic"], what: "records acknowledged by the log" },
  { family: "actor_batch_duration_seconds", labels: ["actor", "agent"], what: "batch duration" },
  { family: "actor_mailbox_depth", labels: ["actor"], what: "mailbox depth per actor" },
  { family: "actor_inflight_batches", labels: ["actor"], what: "in-flight batches per actor" },
  { family: "actor_restarts_total", labels: ["actor"], what: "restarts per actor" },
  { family: "qistream_consumer_lag", labels: ["group", "topic", "partition"], what: "lag per partition" },
  {
    family: "qistream_consumer_lag_seconds",
    labels: ["group", "topic", "partition"],
    what: "lag in seconds per partition",
  },
  { family: "qistream_dead_letters_total", labels: ["agent", "stage", "source_topic"], what: "dead letters" },
  { family: "mcp_tool_call_duration_seconds", labels: ["tool", "outcome"], what: "tool call duration" },
  { family: "sink_rows_total", labels: ["database", "table", "outcome"], what: "sink rows" },
  { family: "sink_insert_duration_seconds", labels: ["database", "table"], what: "sink insert duration" },
  { family: "source_upstream_requests_total", labels: ["source", "status"], what: "upstream requests" },
  { family: "dispatcher_commits_total", labels: ["agent", "topic"], what: "offset commits per agent" },
  { family: "qistream_http_requests_total", labels: ["route", "status"], what: "HTTP requests" },
];

Deno.test({
  name:
    "e2e: /metrics exposes every required family with data; deploy/ and docs name exactly what it exposes",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-e2e-metrics-" });
    const fake = await startFakeCryptoCompare({ apiKey: "metrics-e2e-key" });
    const node = await startNode(testConfig(pipelineYaml(id, dataDir, fake), { CC_KEY: "metrics-e2e-key" }));
    const scrape = async () => {
      const res = await fetch(`${node.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      return parseExposition(await res.text());
    };
    const total = (families: Map<string, Family>, family: string) =>
      (families.get(family)?.samples ?? []).reduce((n, s) => n + (s.name === family ? s.value : 0), 0);
    let families = new Map<string, Family>();
    try {
      const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
      await waitFor(`${TICKS} ticks in embedded PostgreSQL`, async () => {
        const result = await callTool(node.url, token, "postgres.query", {
          sql: `SELECT count(*)::int AS n FROM e2e_ticks_${id}`,
        });
        const [row] = result.rows as { n: number }[];
        return { done: (row?.n ?? 0) >= TICKS, seen: row };
      });
      // Upstream traffic through the fake: ticker updates on the CCCAGG subscription become ticks.
      for (let i = 0; i < 5; i++) {
        fake.ticker("5~CCCAGG~BTC~USD", { PRICE: 100 + i, LASTUPDATE: Math.floor(Date.now() / 1000) + i });
      }
      // A record that is not Avro: the sink's dispatcher dead-letters it at the decode stage.
      await node.pipeline.connector.publish(`e2e.ticks.${id}`, [
        { key: "bad", value: new TextEncoder().encode("not a tick") },
      ]);
      await waitFor("a dead letter, an upstream request and a restart", async () => {
        families = await scrape();
        const seen = {
          deadLetters: total(families, "qistream_dead_letters_total"),
          upstream: total(families, "source_upstream_requests_total"),
          restarts: total(families, "actor_restarts_total"),
        };
        return { done: seen.deadLetters >= 1 && seen.upstream >= 1 && seen.restarts >= 1, seen };
      });

      const healthz = await fetch(`${node.url}/healthz`);
      assert.equal(healthz.status, 200);
      await healthz.body?.cancel();
      const readyz = await fetch(`${node.url}/readyz`);
      const ready = await readyz.json() as { status: string; checks: { name: string; ok: boolean }[] };
      assert.equal(readyz.status, 200, JSON.stringify(ready));
      assert.deepEqual(ready.checks.map((c) => c.name).sort(), ["consumer:pg", "postgres", "stream"]);
      families = await scrape();

      // 1. Every required family, with data and the labels the dashboard groups by.
      for (const { family, labels, what } of REQUIRED) {
        const f = families.get(family);
        assert.ok(f, `${what}: family ${family} is not exposed`);
        assert.ok(f.samples.length > 0, `${what}: family ${family} has no samples`);
        for (const label of labels) {
          assert.ok(
            f.samples.some((s) => s.labels[label] !== undefined && s.labels[label] !== ""),
            `${what}: ${family} has no sample with label ${label}: ${JSON.stringify(f.samples[0]?.labels)}`,
          );
        }
      }
      const group = `e2e.pg.${id}`;
      assert.ok(
        total(families, "qistream_records_in_total") >= TICKS,
        "records delivered to the sink's group are counted",
      );
      assert.ok(
        families.get("qistream_consumer_lag")!.samples.some((s) => s.labels.group === group),
        "lag is reported for the sink's group",
      );
      assert.ok(
        families.get("sink_rows_total")!.samples.some((s) =>
          s.labels.outcome === "written" && s.labels.table === `e2e_ticks_${id}` && s.value > 0
        ),
        "rows written to the test table are counted",
      );
      assert.ok(
        families.get("qistream_dead_letters_total")!.samples.some((s) =>
          s.labels.agent === "pg" && s.labels.source_topic === `e2e.ticks.${id}` &&
          s.labels.stage === "decode"
        ),
        "the dead letter names the agent, its source topic and the stage",
      );
      assert.ok(
        families.get("source_upstream_requests_total")!.samples.some((s) =>
          s.labels.source === "cryptocompare" && s.labels.status === "ok"
        ),
        "the CryptoCompare subscription is counted as an ok upstream request",
      );
      assert.ok(
        families.get("actor_restarts_total")!.samples.some((s) =>
          s.labels.actor === "root/synthetic/synthetic-0"
        ),
        "the restarted synthetic actor is counted under its path",
      );
      assert.ok(
        families.get("mcp_tool_call_duration_seconds")!.samples.some((s) =>
          s.labels.tool === "postgres.insert_rows"
        ),
        "the sink's tool calls are timed per tool",
      );

      // 2. Every metric deploy/ names is a family this node exposes.
      const exposed = new Set([...families.keys(), ...NOT_FROM_QISTREAM]);
      const referenced: { file: string; name: string }[] = [];
      for (const url of await filesUnder(new URL("deploy/grafana/", ROOT), ".json")) {
        for (const expr of exprsOf(JSON.parse(await Deno.readTextFile(url)))) {
          for (const name of metricNamesIn(expr, families)) referenced.push({ file: url.pathname, name });
        }
      }
      const promDir = new URL("deploy/prometheus/", ROOT);
      for (const url of await filesUnder(promDir, ".yml")) {
        const doc = parseYaml(await Deno.readTextFile(url)) as {
          groups?: unknown;
          tests?: { input_series?: { series: string }[] }[];
        };
        for (const expr of exprsOf(doc.groups ?? [])) {
          for (const name of metricNamesIn(expr, families)) referenced.push({ file: url.pathname, name });
        }
        for (const t of doc.tests ?? []) {
          for (const s of t.input_series ?? []) {
            for (const name of metricNamesIn(s.series, families)) {
              referenced.push({ file: url.pathname, name });
            }
          }
        }
      }
      assert.ok(referenced.length >= 20, `expected the dashboards and alerts to name metrics: ${referenced}`);
      const unknown = referenced.filter((r) => !exposed.has(r.name));
      assert.deepEqual(unknown, [], "deploy/ names metrics the node does not expose");

      // 3. docs/observability.md documents every family the node exposes, and nothing that does not exist.
      const doc = await read("docs/observability.md");
      const documented = new Set([...doc.matchAll(/^\| `([a-z_:][a-z0-9_:]*)`/gm)].map((m) => m[1]!));
      const undocumented = [...families.keys()].filter((f) =>
        !f.startsWith("process_") && !f.startsWith("nodejs_") && !documented.has(f)
      );
      assert.deepEqual(undocumented, [], "exposed families missing from docs/observability.md");
      let source = "";
      for (const dir of ["core", "connector", "supervisor", "actors", "tools", "pipeline", "cli"]) {
        for (const url of await filesUnder(new URL(`${dir}/`, ROOT), ".ts")) {
          if (!url.pathname.endsWith("_test.ts")) source += await Deno.readTextFile(url);
        }
      }
      const phantom = [...documented].filter((f) => !source.includes(`"${f}"`));
      assert.deepEqual(phantom, [], "docs/observability.md documents families no source file registers");
    } finally {
      await node.stop();
      await fake.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

/** Each consuming agent's group (default its id), topics and tools. */
function consumers(yaml: string): Record<string, { group: string; topics: string[]; tools: string[] }> {
  const config = testConfig(yaml, {
    DATABASE_URL: "postgres://qistream@db:5432/qistream",
    CLICKHOUSE_URL: "http://clickhouse:8123",
    KAFKA_BROKERS: "kafka:9092",
  });
  const out: Record<string, { group: string; topics: string[]; tools: string[] }> = {};
  for (const [id, agent] of Object.entries(config.agents)) {
    if (!agent.subscribe) continue;
    out[id] = { group: agent.subscribe.group ?? id, topics: agent.subscribe.topics, tools: agent.tools };
  }
  return out;
}

Deno.test("deploy/kubernetes: KEDA scales on the consumer groups and topics the cluster's pipeline subscribes", async () => {
  const configMap = parseYaml(await read("deploy/kubernetes/configmap.yaml")) as {
    data: { "pipeline.yaml": string };
  };
  const cluster = consumers(configMap.data["pipeline.yaml"]);
  const repository = consumers(await read("pipeline.yaml"));
  assert.deepEqual(
    cluster,
    repository,
    "the ConfigMap's consumers match pipeline.yaml (groups, topics, tools)",
  );
  const scaled = parseYaml(await read("deploy/kubernetes/keda-scaledobject.yaml")) as {
    spec: { triggers: { type: string; metadata: { consumerGroup: string; topic: string } }[] };
  };
  const triggers = scaled.spec.triggers.filter((t) => t.type === "kafka")
    .map((t) => `${t.metadata.consumerGroup} ${t.metadata.topic}`).sort();
  const subscribed = Object.values(cluster).flatMap((c) => c.topics.map((t) => `${c.group} ${t}`)).sort();
  assert.deepEqual(triggers, subscribed);
});
