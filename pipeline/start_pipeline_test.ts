import assert from "node:assert/strict";
import { ConfigError } from "../core/config_error.ts";
import type { ActorNode, SupervisorNode } from "../supervisor/mod.ts";
import { startNode, testConfig, waitFor } from "../tests/e2e/_pipeline_harness.ts";

async function withDataDir(fn: (dataDir: string) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-pipeline-" });
  try {
    await fn(dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

const topics = `
topics:
  t.ticks: { partitions: 2, schema: market.tick }
  t.dlq: { partitions: 1 }`;

Deno.test({
  name: "pipeline: an agent's config is validated by its spec at start, with the path of each wrong field",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDataDir(async (dataDir) => {
      const config = testConfig(
        `node: { dataDir: ${dataDir}, deadLetterTopic: t.dlq }${topics}
agents:
  feed: { kind: synthetic, publish: [t.ticks], config: { ratePerSecond: fast, topics: { tick: t.ticks } } }`,
        {},
      );
      await assert.rejects(startNode(config), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, /agents\.feed\.config\.ratePerSecond: expected number, received string/);
        return true;
      });
    }),
});

Deno.test({
  name: "pipeline: an agent may publish only to the topics its `publish` lists (and the dead-letter topic)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDataDir(async (dataDir) => {
      const config = testConfig(
        `node: { dataDir: ${dataDir}, deadLetterTopic: t.dlq }${topics}
agents:
  feed:
    kind: synthetic
    publish: []
    supervision: { intensity: 100 }
    config: { topics: { tick: t.ticks }, ratePerSecond: 0, maxTicks: 10 }`,
        {},
      );
      const node = await startNode(config);
      try {
        let actor: ActorNode | undefined;
        await waitFor("the refused publish to crash the source", () => {
          const feed = (node.pipeline.tree() as SupervisorNode).children.find((c) => c.id === "feed");
          actor = (feed as SupervisorNode | undefined)?.children[0] as ActorNode | undefined;
          return Promise.resolve({ done: actor?.lastError !== undefined, seen: actor });
        }, 30_000);
        assert.match(
          actor!.lastError!.message,
          /Cannot publish to t\.ticks: agents\.feed\.publish lists only t\.dlq/,
        );
        const [offsets] = await node.pipeline.connector.offsets("t.ticks");
        assert.equal(offsets?.high, "0", "nothing reached the topic");
      } finally {
        await node.stop();
      }
    }),
});
