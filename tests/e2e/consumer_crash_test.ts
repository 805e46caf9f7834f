/**
 * The consumer path dies while the rest of the node runs: the ticks topic holds gzip batches (its broker-side
 * `compression.type`) and the node's kafkajs has its gzip codec taken away for the test, exactly as the shipped
 * default once left it without LZ4 — every fetch fails with `KafkaJSNotImplemented` and kafkajs stops the
 * consumer for good. What a user looks at must say so: `/readyz` 503 naming the agent and the error, the tree
 * showing the membership's crashes and last error, `qistream_consumer_crashes_total`, and lag series that grow.
 * With the codec back, the supervisor's next restart consumes again and the ticks reach PostgreSQL; with a tight
 * restart intensity, the root supervisor gives up instead (the node's exit 1, as for actors).
 */
import assert from "node:assert/strict";
import { GZIP_NOT_IMPLEMENTED, withoutGzip } from "../../connector/kafka/_without_gzip.ts";
import { join } from "node:path";
import postgres from "postgres";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { needs, services } from "../service_env.ts";
import type { ExitReason } from "../../supervisor/mod.ts";
import { runId, startNode, testConfig, type TestNode, waitFor } from "./_pipeline_harness.ts";

function pipelineYaml(id: string, dataDir: string, agentIntensity: string, rootIntensity: string): string {
  return `
node:
  name: e2e-consumer-crash
  dataDir: ${dataDir}
  http: { port: 0 }
  deadLetterTopic: e2e.dlq.${id}
  supervision: ${rootIntensity}
  lagIntervalMs: 500
topics:
  e2e.gzip.${id}: { partitions: 2, schema: market.tick, compression: gzip }
  e2e.dlq.${id}: { partitions: 1 }
agents:
  synthetic:
    kind: synthetic
    publish: [e2e.gzip.${id}]
    config: { topics: { tick: e2e.gzip.${id} }, symbols: [BTC-USD, AAPL, EUR-USD], ratePerSecond: 50 }
  pg:
    kind: postgres-sink
    subscribe: { topics: [e2e.gzip.${id}], group: e2e.crash.${id}, fromBeginning: true }
    supervision: ${agentIntensity}
    config: { table: e2e_crash_${id} }
`;
}

function config(id: string, dataDir: string, agentIntensity: string, rootIntensity: string) {
  return testConfig(pipelineYaml(id, dataDir, agentIntensity, rootIntensity), {
    KAFKA_BROKERS: services.kafkaBrokers!.join(","),
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    DATABASE_URL: services.databaseUrl,
  });
}

interface Readyz {
  status: string;
  checks: { name: string; ok: boolean; reason?: string }[];
}

/** The tree over `/api/tree`, with the node's local reader token. */
async function tree(node: TestNode, dataDir: string): Promise<Node> {
  const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
  const response = await fetch(`${node.url}/api/tree`, { headers: { authorization: `Bearer ${token}` } });
  return await response.json() as Node;
}

async function readyz(node: TestNode): Promise<{ code: number; body: Readyz }> {
  const response = await fetch(`${node.url}/readyz`);
  return { code: response.status, body: await response.json() };
}

/** The value of one sample on `/metrics`, matching every given label. */
async function sample(node: TestNode, family: string, labels: Record<string, string>): Promise<number[]> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return text.split("\n")
    .filter((line) => line.startsWith(`${family}{`))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .map((line) => Number(line.slice(line.lastIndexOf(" ") + 1)));
}

interface Node {
  id: string;
  path?: string;
  state: string;
  lastError?: { reason: string; name: string; message: string };
  subscription?: { state: string; crashes: number; lastCrash?: { message: string } };
  children?: Node[];
}

function find(node: Node | null, path: string): Node | undefined {
  if (!node) return undefined;
  if (node.path === path) return node;
  for (const child of node.children ?? []) {
    const found = find(child, path);
    if (found) return found;
  }
  return undefined;
}

const NOT_IMPLEMENTED = GZIP_NOT_IMPLEMENTED;

Deno.test({
  name:
    "e2e: a consumer that cannot fetch its topic turns /readyz 503 naming the agent and the error, shows " +
    "in the tree and the crash metric while lag grows; once it can fetch again the supervisor's restart resumes " +
    "it and the ticks reach PostgreSQL (needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL)",
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-crash-" });
    const sql = postgres(services.databaseUrl!, { max: 1, onnotice: () => {} });
    let node: TestNode | undefined;
    try {
      await withoutGzip(async (restore) => {
        node = await startNode(config(id, dataDir, "{ intensity: 1000, periodMs: 60000 }", "{}"));
        const n = node;
        await waitFor("/readyz 503 naming consumer:pg and the codec error", async () => {
          const { code, body } = await readyz(n);
          const check = body.checks.find((c) => c.name === "consumer:pg");
          return {
            done: code === 503 && !check?.ok && NOT_IMPLEMENTED.test(check?.reason ?? ""),
            seen: body,
          };
        });
        const { body } = await readyz(n);
        const reason = body.checks.find((c) => c.name === "consumer:pg")!.reason!;
        assert.match(reason, /agent pg \(group e2e\.crash\./, "the reason names the agent and its group");
        assert.ok(body.checks.find((c) => c.name === "stream")!.ok, "the producer side is fine meanwhile");

        await waitFor("the tree showing the membership's crash", async () => {
          const dispatcher = find(await tree(n, dataDir), "root/pg/pg.dispatcher");
          const crashed = NOT_IMPLEMENTED.test(dispatcher?.lastError?.message ?? "") &&
            dispatcher?.lastError?.reason === "consumer_crashed";
          return { done: crashed, seen: dispatcher };
        });
        await waitFor("qistream_consumer_crashes_total for pg", async () => {
          const values = await sample(n, "qistream_consumer_crashes_total", {
            agent: "pg",
            error: "KafkaJSNotImplemented",
          });
          return { done: values.length === 1 && values[0]! >= 1, seen: values };
        });
        const lagOf = async () =>
          (await sample(n, "qistream_consumer_lag", { group: `e2e.crash.${id}` })).reduce((a, b) => a + b, 0);
        let first = 0;
        await waitFor("lag series for both partitions", async () => {
          const values = await sample(n, "qistream_consumer_lag", { group: `e2e.crash.${id}` });
          first = values.reduce((a, b) => a + b, 0);
          return { done: values.length === 2 && first > 0, seen: values };
        });
        await waitFor("the lag growing while nothing consumes", async () => {
          const now = await lagOf();
          return { done: now > first, seen: { first, now } };
        });

        restore();
        await waitFor("/readyz 200 once the consumer fetches again", async () => {
          const { code, body } = await readyz(n);
          return { done: code === 200, seen: body };
        }, 90_000);
        await waitFor("ticks in PostgreSQL", async () => {
          const [row] = await sql`SELECT count(*)::int AS n FROM ${sql(`e2e_crash_${id}`)}`.catch(
            () => [{ n: 0 }],
          );
          return { done: row!.n > 0, seen: row };
        }, 60_000);
      });
    } finally {
      await node?.stop();
      await sql.unsafe(`DROP TABLE IF EXISTS e2e_crash_${id}`).catch(() => {});
      await sql.end();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "e2e: a consumer that keeps crashing exhausts its agent's restart intensity, then the root's: the root " +
    "supervisor gives up (the node exits 1) and /readyz names the agent and the error " +
    "(needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL)",
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-crash-" });
    let node: TestNode | undefined;
    try {
      await withoutGzip(async () => {
        let gaveUp: ExitReason | undefined;
        node = await startNode(
          config(id, dataDir, "{ intensity: 1, periodMs: 60000 }", "{ intensity: 0, periodMs: 60000 }"),
          { onGiveUp: (reason) => (gaveUp = reason) },
        );
        const n = node;
        await waitFor(
          "the root supervisor giving up",
          () => Promise.resolve({ done: !!gaveUp, seen: gaveUp }),
        );
        assert.equal(gaveUp!.kind, "crashed");
        const root = await tree(n, dataDir);
        assert.equal(root.state, "failed", "the root failed");
        assert.match(
          find(root, "root/pg")?.lastError?.message ?? "",
          /pg.*gave up|reached|intensity/i,
          `the agent's supervisor gave up: ${JSON.stringify(find(root, "root/pg"))}`,
        );
        const { code, body } = await readyz(n);
        assert.equal(code, 503);
        const check = body.checks.find((c) => c.name === "consumer:pg");
        assert.match(
          check?.reason ?? "",
          NOT_IMPLEMENTED,
          `readiness names the error: ${JSON.stringify(body)}`,
        );
        assert.match(check?.reason ?? "", /crashed 2 time\(s\)/, "one restart, then the give-up");
      });
    } finally {
      await node?.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
