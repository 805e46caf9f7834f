/**
 * The broker goes away and comes back while a node runs (a broker of the test's own, restarted as an operator
 * would: SIGTERM, then started again on the same ports and data). While it is down, `/readyz` must say so and
 * name the consumer waiting for it; once it is back the node must be ready and writing again without waiting
 * out its consumers' session timeout — here a minute, so only the removal of the member the restarted consumer
 * left behind lets it join within the 30 s allowed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { needs, services } from "../service_env.ts";
import { RestartableKafka } from "../services/restartable_kafka.ts";
import { runId, startNode, testConfig, type TestNode, waitFor } from "./_pipeline_harness.ts";

function pipelineYaml(id: string, dataDir: string): string {
  return `
node: { name: e2e-broker-restart, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: e2e.dlq.${id} }
connections:
  kafka: { brokers: "\${KAFKA_BROKERS}", sessionTimeoutMs: 60000, rebalanceTimeoutMs: 60000 }
topics:
  e2e.ticks.${id}: { partitions: 2, schema: market.tick }
  e2e.dlq.${id}: { partitions: 1 }
agents:
  synthetic:
    kind: synthetic
    publish: [e2e.ticks.${id}]
    config: { topics: { tick: e2e.ticks.${id} }, symbols: [BTC-USD, AAPL, EUR-USD], ratePerSecond: 50 }
  pg:
    kind: postgres-sink
    subscribe: { topics: [e2e.ticks.${id}], group: e2e.restart.${id} }
    config: { table: e2e_restart_${id} }
`;
}

interface Readyz {
  status: string;
  checks: { name: string; ok: boolean; reason?: string }[];
}

async function readyz(node: TestNode): Promise<{ code: number; body: Readyz }> {
  const response = await fetch(`${node.url}/readyz`);
  return { code: response.status, body: await response.json() };
}

Deno.test({
  name:
    "e2e: while the broker is down /readyz is 503 naming the consumer waiting for it; once it is back the " +
    "node is ready and writes again without waiting out a minute-long session timeout " +
    "(needs KAFKA_LIBS, DATABASE_URL)",
  ...needs("KAFKA_LIBS", "DATABASE_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const dir = await Deno.makeTempDir({ prefix: "qistream-broker-restart-" });
    const sql = postgres(services.databaseUrl!, { max: 1, onnotice: () => {} });
    const table = `e2e_restart_${id}`;
    const rows = async () => {
      const [row] = await sql`SELECT count(*)::int AS n FROM ${sql(table)}`.catch(() => [{ n: 0 }]);
      return row!.n as number;
    };
    let broker: RestartableKafka | undefined;
    let node: TestNode | undefined;
    try {
      broker = await RestartableKafka.start(join(dir, "broker"), () => {});
      node = await startNode(testConfig(pipelineYaml(id, join(dir, "data")), {
        KAFKA_BROKERS: broker.address,
        DATABASE_URL: services.databaseUrl,
      }));
      const n = node;
      await waitFor("ticks in PostgreSQL", async () => {
        const count = await rows();
        return { done: count > 0, seen: count };
      });
      assert.equal((await readyz(n)).code, 200);

      await broker.stop();
      await waitFor("/readyz 503 naming the consumer that waits for the broker", async () => {
        const { code, body } = await readyz(n);
        const consumer = body.checks.find((c) => c.name === "consumer:pg");
        const waiting = /consumer (waiting for broker|stalled)/.test(consumer?.reason ?? "");
        return { done: code === 503 && waiting, seen: body };
      });

      const upAt = await broker.start(); // its port accepts connections
      await waitFor("/readyz 200 again", async () => {
        const { code, body } = await readyz(n);
        return { done: code === 200, seen: body };
      }, 30_000);
      const before = await rows();
      await waitFor("new rows after the broker came back", async () => {
        const count = await rows();
        return { done: count > before, seen: { before, count } };
      }, 30_000);
      console.log(
        `ready and writing ${((Date.now() - upAt) / 1000).toFixed(1)} s after the broker was back`,
      );
    } finally {
      await node?.stop();
      await broker?.stop();
      await sql.unsafe(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await sql.end();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
