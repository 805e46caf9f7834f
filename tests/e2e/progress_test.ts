/**
 * A replay reports its progress: while it runs, its actor in the tree (what the dashboard renders) carries the
 * task with records done of the file's total, percent, rate and ETA; the last report says it finished.
 */
import assert from "node:assert/strict";
import type { ActorNode, SupervisorNode, TreeNode } from "../../supervisor/mod.ts";
import type { TaskProgress } from "../../core/task_progress.ts";
import { startNode, testConfig, type TestNode, waitFor } from "./_pipeline_harness.ts";

function replayActor(tree: TreeNode): ActorNode | undefined {
  const agent = (tree as SupervisorNode).children.find((c) => c.id === "replay") as
    | SupervisorNode
    | undefined;
  return agent?.children?.find((c) => c.type === "actor") as ActorNode | undefined;
}

Deno.test({
  name: "progress: a replay shows records, percent, rate and ETA in the tree while it runs",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-progress-" });
    const file = `${dataDir}/ticks.jsonl`;
    const start = Date.UTC(2026, 0, 1);
    // 400 ticks 10 ms apart, replayed at 1×: about 4 s.
    await Deno.writeTextFile(
      file,
      Array.from(
        { length: 400 },
        (_, i) => JSON.stringify({ symbol: "BTC-USD", source: "test", ts: start + 10 * i, price: 100 + i }),
      ).join("\n") + "\n",
    );
    let node: TestNode | undefined;
    try {
      node = await startNode(testConfig(
        `node: { dataDir: ${dataDir}, deadLetterTopic: t.dlq }
topics:
  t.ticks: { partitions: 1, schema: market.tick }
  t.dlq: { partitions: 1 }
agents:
  replay:
    kind: replay
    restart: temporary
    publish: [t.ticks, t.dlq]
    config: { path: ${file}, speed: 1, topics: { tick: t.ticks } }`,
        {},
      ));
      const running = node;
      let seen: TaskProgress | undefined;
      await waitFor("the replay's progress midway", () => {
        seen = replayActor(running.pipeline.tree())?.tasks?.find((t) => t.task === "replay");
        return Promise.resolve({
          done: seen !== undefined && seen.done > 20 && seen.done < 380,
          seen,
        });
      }, 60_000);
      assert.equal(seen!.total, 400);
      assert.ok(seen!.percent! > 0 && seen!.percent! < 100, JSON.stringify(seen));
      assert.ok(seen!.ratePerSecond > 0, JSON.stringify(seen));
      assert.ok(seen!.etaSeconds! > 0, JSON.stringify(seen));
      assert.equal(seen!.finished, false);
    } finally {
      await node?.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
