import assert from "node:assert/strict";
import { ConfigError } from "../core/config_error.ts";
import { startNode, testConfig } from "../tests/e2e/_pipeline_harness.ts";

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
  name:
    "pipeline: a topic the agent's kind writes that its `publish` lacks is refused before anything is created",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDataDir(async (dataDir) => {
      // The config skipped the loader's check (testConfig parses without it): startPipeline checks again first.
      // At run time a publish outside `publish` is still refused (`Cannot publish to ...`).
      const config = testConfig(
        `node: { dataDir: ${dataDir}, deadLetterTopic: t.dlq }${topics}
agents:
  feed:
    kind: synthetic
    publish: []
    config: { topics: { tick: t.ticks }, ratePerSecond: 0, maxTicks: 10 }`,
        {},
      );
      await assert.rejects(startNode(config), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(
          e.message,
          /agents\.feed\.publish: the synthetic kind writes to topic "t\.ticks", which this list lacks/,
        );
        return true;
      });
      const left: string[] = [];
      for await (const entry of Deno.readDir(dataDir)) left.push(entry.name);
      assert.deepEqual(left, [], "no log, topic or database was created in the data dir");
    }),
});
