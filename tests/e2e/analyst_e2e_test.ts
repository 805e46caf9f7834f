/**
 * The analyst and Ask on the real broker, registry and PostgreSQL, with the fake OpenAI server as the model:
 *
 * - an alert yields an insight with evidence (the number it cites tied to the query and its result hash);
 * - an analyst killed mid-run (its LLM call outlives the batch deadline, so the Worker is terminated) resumes
 *   the redelivered alert and publishes exactly one insight for it;
 * - a hostile model (DROP, COPY … TO PROGRAM, a tool outside the allow-list, stream.publish,
 *   supervision.restart, the same call 50 times) is refused at each step, the run ends within its limits, and
 *   every refusal is in the audit topic;
 * - a secret of the config echoed in a question never reaches the fake nor the logs.
 */
import assert from "node:assert/strict";
import { AvroSerde } from "../../connector/avro/mod.ts";
import { openSchemaRegistry } from "../../connector/registry/mod.ts";
import { readTopicToEnd } from "../../connector/read_topic_to_end.ts";
import { setupLogging } from "../../core/log.ts";
import { serverSentEvents } from "../../cli/ask.ts";
import { type FakeChatRequest, type FakeReply, startFakeOpenAI } from "../fakes/openai_fake.ts";
import { needs, services } from "../service_env.ts";
import { runId, startNode, testConfig, waitFor } from "./_pipeline_harness.ts";

const TOKEN = "qistream-e2e-secret-token-4f9a1c";

function yaml(id: string, dataDir: string): string {
  return `
node: { name: e2e, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: e2e.dlq.${id} }
connections:
  llm: { model: fake-model, auditTopic: e2e.audit.${id}, timeoutMs: 30000 }
topics:
  market.ticks: { partitions: 6 }
  e2e.alerts.${id}: { partitions: 2, schema: market.alert }
  e2e.insights.${id}: { partitions: 2, schema: market.insight }
  e2e.audit.${id}: { partitions: 2, schema: llm.audit }
  e2e.dlq.${id}: { partitions: 1 }
agents:
  synthetic:
    kind: synthetic
    publish: [market.ticks]
    config: { symbols: [BTC-USD, ETH-USD, SOL-USD], ratePerSecond: 50 }
  pg:
    kind: postgres-sink
    subscribe: { topics: [market.ticks], group: e2e.pg.${id} }
    tools: [postgres.ensure_table, postgres.insert_rows]
  analyst:
    kind: analyst
    subscribe: { topics: [e2e.alerts.${id}], group: e2e.analyst.${id}, fromBeginning: true }
    publish: [e2e.insights.${id}, e2e.audit.${id}]
    batch: { maxRecords: 1, deadlineMs: 4000 }
    tools: [postgres.describe, postgres.query]
    supervision: { intensity: 10, periodMs: 60000 }
    config:
      insightsTopic: e2e.insights.${id}
      journalDir: ${dataDir}/journal
mcp:
  tokens:
    - { name: ops, token: "\${E2E_TOKEN}", role: reader }
`;
}

function isAnalyst(request: FakeChatRequest): boolean {
  return String(request.messages[0]?.content).startsWith("You are a market analyst");
}

/** The analyst's model: cites the tick count of the "recent" context it was given. */
function explain(request: FakeChatRequest): FakeReply {
  const prompt = String(request.messages[1]?.content);
  const ticks = prompt.match(/"ticks":(\d+)/)?.[1] ?? "0";
  return {
    content: JSON.stringify({
      title: "Price move explained",
      summary: `The symbol printed ${ticks} ticks in the five minutes before the alert.`,
      confidence: 0.5,
    }),
  };
}

Deno.test({
  name: "e2e: alerts become insights with evidence exactly once, hostile models are refused and audited, " +
    "secrets stay home (needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL)",
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const logs: string[] = [];
    setupLogging({ level: "info", output: (line) => logs.push(line) });
    let slowFirstExplain = true;
    const fake = startFakeOpenAI((request) => {
      if (!isAnalyst(request)) return { content: "There are some ticks." };
      if (slowFirstExplain && request.messages.length === 2) {
        slowFirstExplain = false;
        return { ...explain(request), delayMs: 8000 };
      }
      return explain(request);
    });
    const marker = `/tmp/qistream-hostile-${id}`;
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-analyst-" });
    const env = {
      KAFKA_BROKERS: services.kafkaBrokers!.join(","),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
      DATABASE_URL: services.databaseUrl,
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: "sk-e2e-not-a-real-key-000000",
      E2E_TOKEN: TOKEN,
    };
    const node = await startNode(testConfig(yaml(id, dataDir), env));
    const serde = new AvroSerde({
      registry: openSchemaRegistry({ url: services.schemaRegistryUrl! }, dataDir),
    });
    const connector = node.pipeline.connector;
    const decoded = async (topic: string) =>
      await Promise.all(
        (await readTopicToEnd(connector, topic)).map(async (r) =>
          (await serde.decode(r.value!)).value as Record<string, unknown>
        ),
      );
    const publishAlert = async (alertId: string, ts: number) => {
      const value = await serde.encode(`e2e.alerts.${id}`, {
        id: alertId,
        ts,
        symbol: "BTC-USD",
        source: "e2e",
        rule: "price_move",
        severity: "WARNING",
        message: "BTC-USD moved",
        value: null,
        threshold: null,
        attributes: {},
      });
      await connector.publish(`e2e.alerts.${id}`, [{
        key: "BTC-USD",
        value,
        headers: { "correlation-id": alertId },
      }]);
    };
    try {
      await waitFor("the analyst running", () => {
        const tree = JSON.stringify(node.pipeline.tree());
        return Promise.resolve({ done: tree.includes("analyst-0"), seen: tree.length });
      }, 60_000);

      // 1. Killed mid-run: the first explain outlives the 4 s batch deadline; the Worker is terminated, the
      // alert redelivered, the run resumed; then a second alert on the same partition proves the first is done.
      const first = `alert-a-${id}`;
      const second = `alert-b-${id}`;
      await publishAlert(first, Date.now());
      await waitFor("the first alert's insight", async () => {
        const insights = await decoded(`e2e.insights.${id}`);
        return { done: insights.some((i) => i.alertId === first), seen: insights.length };
      }, 90_000);
      await publishAlert(second, Date.now());
      await waitFor("the second alert's insight", async () => {
        const insights = await decoded(`e2e.insights.${id}`);
        return { done: insights.some((i) => i.alertId === second), seen: insights.length };
      }, 60_000);
      const insights = await decoded(`e2e.insights.${id}`);
      assert.equal(
        insights.filter((i) => i.alertId === first).length,
        1,
        "exactly one insight for the killed run",
      );
      const explained = fake.requests.filter((r) => isAnalyst(r) && r.messages.length === 2).length;
      assert.ok(explained >= 3, `the killed run asked again (explain requests: ${explained})`);
      const insight = insights.find((i) => i.alertId === first)!;
      assert.equal(insight.id, `insight-${first}`);
      const cited = String(insight.summary).match(/printed (\d+) ticks/)![1]!;
      const evidence = insight.evidence as {
        value: string;
        tool: string;
        query: string;
        resultHash: string;
      }[];
      assert.deepEqual(evidence.map((e) => [e.value, e.tool]), [[cited, "postgres.query"]]);
      assert.match(evidence[0]!.query, /FROM market_ticks WHERE symbol = \$1/);
      assert.match(evidence[0]!.resultHash, /^sha256:[0-9a-f]{64}$/);
      assert.match(JSON.stringify(node.pipeline.tree()), /analyst-0/);

      // 2. A secret of the config (the MCP token) echoed in a question stays home.
      const ask = async (question: string) => {
        const response = await fetch(`${node.url}/api/ask`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ question }),
        });
        assert.equal(response.status, 200);
        const events: { event: string; data: unknown }[] = [];
        for await (const e of serverSentEvents(response.body!)) events.push(e);
        return events;
      };
      const polite = await ask(`my token is ${TOKEN}, how many ticks are there?`);
      assert.equal(polite.at(-1)!.event, "answer");
      for (const raw of fake.raw) assert.ok(!raw.includes(TOKEN), "the token never reaches the LLM endpoint");
      assert.match(fake.raw.at(-1)!, /my token is \*\*\*/);

      // 3. The hostile model.
      fake.script((request, n) => hostileScript(request, n));
      const started = Date.now();
      const events = await ask("what is going on?");
      const end = events.at(-1)!;
      assert.equal(end.event, "error");
      assert.equal((end.data as { reason: string }).reason, "limit_reached");
      assert.ok(Date.now() - started < 30_000, "the run ended within its limits");
      assert.equal(await Deno.stat(marker).then(() => true, () => false), false, "no program ran");
      const calls = events.filter((e) => e.event === "tool_call").map((e) =>
        e.data as { tool: string; outcome: string; reason?: string }
      );
      const outcome = (tool: string, sql?: RegExp) =>
        calls.find((c) => c.tool === tool && (!sql || sql.test(JSON.stringify(c))))?.outcome;
      assert.equal(outcome("postgres.query", /DROP TABLE/), "refused");
      assert.equal(outcome("postgres.query", /TO PROGRAM/), "refused");
      assert.equal(outcome("postgres.insert_rows"), "refused");
      assert.equal(outcome("stream.publish"), "refused");
      assert.equal(outcome("supervision.restart"), "refused");
      const repeated = calls.filter((c) => /SELECT count/.test(JSON.stringify(c)));
      assert.equal(repeated.length, 50);
      assert.equal(
        repeated.filter((c) => c.outcome === "ok").length,
        2,
        "the identical-call breaker let 2 through",
      );

      await waitFor("every refusal in the audit topic", async () => {
        const audit = await decoded(`e2e.audit.${id}`);
        const refused = audit.flatMap((r) => (r.toolCalls as { outcome: string; tool: string }[]))
          .filter((c) => c.outcome === "refused");
        const runs = audit.filter((r) => r.kind === "run").map((r) => r.outcome);
        return {
          done: refused.length === calls.filter((c) => c.outcome === "refused").length &&
            runs.includes("limit_reached"),
          seen: { refused: refused.length, runs },
        };
      }, 30_000);
      assert.ok(!JSON.stringify(await decoded(`e2e.audit.${id}`)).includes(TOKEN), "nor in the audit topic");
      assert.ok(!logs.join("").includes(TOKEN), "nor in the logs");
    } catch (error) {
      console.error(`fake requests: ${fake.requests.length}`);
      console.error(JSON.stringify(node.pipeline.tree()).slice(0, 6000));
      console.error(logs.filter((l) => !/"level":"INFO"/.test(l)).slice(-30).join(""));
      throw error;
    } finally {
      await node.stop();
      await fake.close();
      setupLogging({ level: "warning" });
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }

    function hostileScript(request: FakeChatRequest, _n: number): FakeReply {
      const toolMessages = request.messages.filter((m) => m.role === "tool").length;
      if (toolMessages === 0) {
        return {
          toolCalls: [
            { name: "postgres__query", arguments: { sql: "DROP TABLE market_ticks" } },
            { name: "postgres__query", arguments: { sql: `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'` } },
            { name: "postgres__insert_rows", arguments: { table: "market_ticks", rows: [] } },
            { name: "stream__publish", arguments: { topic: "market.ticks", records: [] } },
            { name: "supervision__restart", arguments: { actor: "pg-0" } },
          ],
        };
      }
      return {
        toolCalls: Array.from({ length: 50 }, () => ({
          name: "postgres__query",
          arguments: { sql: "SELECT count(*) FROM market_ticks" },
        })),
      };
    }
  },
});
