/**
 * Many nodes, one pipeline: two `main.ts start` processes with the same pipeline file on real Kafka, PostgreSQL and
 * ClickHouse. They share the sinks' partitions through their consumer groups; the replay (a singleton source) runs
 * on the node that holds the singleton lease. The node running the replay is SIGKILLed mid-stream: the survivor
 * owns every partition within 15 s, takes the replay over from its source offset, and both sinks hold every
 * tick exactly once after dedup on (symbol, ts) — raw, at most the one batch the killed node had in flight twice; the replay never ran on both nodes at once; `/api/cluster` shows the killed
 * node as lost.
 */
import assert from "node:assert/strict";
import { createClient } from "@clickhouse/client";
import { join } from "node:path";
import postgres from "postgres";
import { needs, services } from "../service_env.ts";
import { runId, spawnStart, type StartedProcess, untilBanner, waitFor } from "./_pipeline_harness.ts";
import { api, serviceEnv, TopicProbe, writeTickFile } from "./_cluster_harness.ts";
import type { DispatcherNode, TreeNode } from "../../supervisor/tree_node.ts";
import type { ClusterView } from "../../pipeline/node_registry.ts";

const N = 4_000;
const PARTITIONS = 6;
const BATCH = 100;

function pipelineYaml(id: string, path: string): string {
  return `
node:
  name: cluster-${id}
  dataDir: \${QISTREAM_DATA_DIR}
  http: { port: 0 }
  deadLetterTopic: cl.dlq.${id}
  heartbeatMs: 1000
connections:
  kafka: { brokers: "\${KAFKA_BROKERS}", sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 }
topics:
  cl.ticks.${id}: { partitions: ${PARTITIONS}, schema: market.tick }
  cl.dlq.${id}: { partitions: 1 }
agents:
  replay:
    kind: replay
    restart: transient
    publish: [cl.ticks.${id}, cl.dlq.${id}]
    config: { path: ${path}, speed: 2, batchSize: ${BATCH}, topics: { tick: cl.ticks.${id} } }
  pg:
    kind: postgres-sink
    subscribe: { topics: [cl.ticks.${id}], group: cl.pg.${id}, fromBeginning: true }
    config: { table: cl_ticks_${id} }
  ch:
    kind: clickhouse-sink
    subscribe: { topics: [cl.ticks.${id}], group: cl.ch.${id}, fromBeginning: true }
    config: { table: cl_ticks_${id} }
`;
}

interface Node {
  name: string;
  dataDir: string;
  process: StartedProcess;
  url: string;
}

function find(node: TreeNode, pred: (n: TreeNode) => boolean): TreeNode[] {
  const here = pred(node) ? [node] : [];
  return [...here, ...("children" in node ? node.children.flatMap((c) => find(c, pred)) : [])];
}

/** What a node's tree says: partitions owned per sink, and whether the replay runs there. */
async function look(node: Node): Promise<{ partitions: Record<string, number>; replay: string }> {
  const tree = await api(node.url, node.dataDir, "/api/tree") as TreeNode;
  const partitions: Record<string, number> = {};
  for (const d of find(tree, (n) => n.type === "dispatcher") as DispatcherNode[]) {
    partitions[d.agent] = d.partitions.length;
  }
  const replay = find(tree, (n) => n.id === "replay")[0];
  return { partitions, replay: replay?.type === "standby" ? "standby" : replay ? "running" : "absent" };
}

Deno.test({
  name:
    "two nodes, one SIGKILLed mid-stream: the survivor owns every partition within 15 s, takes the singleton " +
    "replay over, and both sinks hold every record exactly once after dedup " +
    "(needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, CLICKHOUSE_URL)",
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL", "CLICKHOUSE_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const root = await Deno.makeTempDir({ prefix: "qistream-cluster-" });
    const table = `cl_ticks_${id}`;
    const topic = `cl.ticks.${id}`;
    const file = join(root, "pipeline.yaml");
    // 4 000 lines 10 ms apart at 2× speed: about 20 s of replay.
    await Deno.writeTextFile(file, pipelineYaml(id, await writeTickFile(root, N, 10)));
    const probe = new TopicProbe(root);
    const sql = postgres(services.databaseUrl!, { max: 1, onnotice: () => {} });
    const ch = createClient({ url: services.clickhouseUrl });
    const nodes: Node[] = [];
    let watching = true;
    const overlaps: string[] = [];
    let watcher: Promise<void> = Promise.resolve();
    try {
      const spawned = await Promise.all(["a", "b"].map(async (name) => {
        const dataDir = join(root, name);
        await Deno.mkdir(dataDir);
        const process = spawnStart([], {
          ...serviceEnv(),
          QISTREAM_CONFIG: file,
          QISTREAM_DATA_DIR: dataDir,
        });
        nodes.push({ name, dataDir, process, url: "" });
        return { name, dataDir, process, url: await untilBanner(process, `node ${name}'s banner`) };
      }));
      nodes.splice(0, nodes.length, ...spawned);
      const [a, b] = nodes as [Node, Node];

      await waitFor("both nodes sharing the sinks' partitions and one running the replay", async () => {
        const [la, lb] = await Promise.all([look(a), look(b)]);
        const shared = ["pg", "ch"].every((s) =>
          (la.partitions[s] ?? 0) > 0 && (lb.partitions[s] ?? 0) > 0 &&
          la.partitions[s]! + lb.partitions[s]! === PARTITIONS
        );
        const one = [la.replay, lb.replay].sort().join() === "running,standby";
        return { done: shared && one, seen: { a: la, b: lb } };
      }, 60_000);

      // The singleton must never run on both live nodes at once: watch both trees until the kill.
      watcher = (async () => {
        while (watching) {
          const states = await Promise.all(nodes.map((n) => look(n).then((l) => l.replay, () => "down")));
          if (watching && states.every((s) => s === "running")) overlaps.push(new Date().toISOString());
          await new Promise((r) => setTimeout(r, 200));
        }
      })();

      const owner = (await look(a)).replay === "running" ? a : b;
      const survivor = owner === a ? b : a;
      await waitFor("a third of the file in the topic", async () => {
        const n = await probe.count(topic);
        return { done: n >= N / 3, seen: n };
      }, 60_000);
      watching = false;
      await watcher;
      owner.process.child.kill("SIGKILL");
      const killedAt = Date.now();
      await owner.process.status;

      await waitFor("the survivor owning every partition of both sinks", async () => {
        const l = await look(survivor);
        return { done: l.partitions.pg === PARTITIONS && l.partitions.ch === PARTITIONS, seen: l };
      }, 30_000);
      const takeoverMs = Date.now() - killedAt;
      console.log(
        `the survivor owned all ${PARTITIONS} partitions of both sinks ${takeoverMs} ms after the kill`,
      );
      assert.ok(takeoverMs <= 15_000, `the survivor owned every partition ${takeoverMs} ms after the kill`);
      assert.deepEqual(overlaps, [], "the replay ran on both nodes at once");

      await waitFor("the survivor running the replay from its source offset", async () => {
        const l = await look(survivor);
        return {
          done: l.replay === "running" && /resuming \S+ after line \d+/.test(survivor.process.output()),
          seen: l,
        };
      }, 30_000);

      await waitFor(`${N} distinct ticks in PostgreSQL`, async () => {
        const [row] = await sql`SELECT count(*)::int AS n, count(DISTINCT (symbol, ts))::int AS d FROM ${
          sql(table)
        }`;
        return { done: row!.d === N, seen: row };
      }, 90_000);
      const [pg] = await sql`SELECT count(*)::int AS n, count(DISTINCT (symbol, ts))::int AS d FROM ${
        sql(table)
      }`;
      // Redeliveries collapse on the sinks' key; the batch the killed node had in flight was published again by
      // the survivor as new records (the same ticks at new offsets): at most one batch, removed by dedup.
      assert.ok(
        pg!.n <= N + BATCH,
        `PostgreSQL holds ${pg!.n} rows for ${N} ticks: more than one batch twice`,
      );
      await waitFor(`${N} ticks in ClickHouse after dedup`, async () => {
        const result = await ch.query({
          query: `SELECT count() AS n, uniqExact(symbol, ts) AS d FROM ${table} FINAL`,
          format: "JSONEachRow",
        });
        const [row] = await result.json<{ n: string; d: string }>();
        return { done: Number(row!.d) === N, seen: row };
      }, 90_000);
      const result = await ch.query({
        query: `SELECT count() AS n FROM ${table} FINAL`,
        format: "JSONEachRow",
      });
      const [chRows] = await result.json<{ n: string }>();
      assert.ok(Number(chRows!.n) <= N + BATCH, `ClickHouse holds ${chRows!.n} rows for ${N} ticks`);

      await waitFor("the registry showing the killed node as lost", async () => {
        const view = await api(survivor.url, survivor.dataDir, "/api/cluster") as ClusterView;
        const statuses = Object.fromEntries(view.nodes.map((n) => [n.address, n.status]));
        return {
          done: statuses[owner.url] === "lost" && statuses[survivor.url] === "live" &&
            view.singletons.replay === view.self,
          seen: { statuses, singletons: view.singletons },
        };
      }, 30_000);
    } finally {
      watching = false;
      await watcher.catch(() => {});
      for (const n of nodes) await n.process.kill();
      await sql.unsafe(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await sql.end();
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
      await ch.close();
      await probe.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
