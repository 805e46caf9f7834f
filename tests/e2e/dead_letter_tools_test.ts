/**
 * Dead letters through the node's doors: a record the consumer cannot decode lands in the dead-letter topic;
 * `deadletters.list` (MCP) finds it by stage and error, `GET /api/deadletters/{ref}` shows its bytes, and
 * `POST /api/deadletters/replay` (admin) puts the original back on its source topic with `dlq.replayed-from`.
 * A reader token may list but not replay.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readTopicToEnd } from "../../connector/read_topic_to_end.ts";
import { LOCAL_ADMIN_TOKEN_FILE, LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { callTool, startNode, testConfig, type TestNode, waitFor } from "./_pipeline_harness.ts";

Deno.test({
  name: "dead letters: list by stage and error over MCP, show and replay over /api (admin only)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-dlq-tools-" });
    let node: TestNode | undefined;
    try {
      node = await startNode(testConfig(
        `node: { dataDir: ${dataDir}, deadLetterTopic: t.dlq }
topics:
  t.ticks: { partitions: 1, schema: market.tick }
  t.bars: { partitions: 1, schema: market.bar }
  t.dlq: { partitions: 1 }
agents:
  bars:
    kind: bar-builder
    subscribe: { topics: [t.ticks], group: g.bars, fromBeginning: true }
    publish: [t.bars, t.dlq]
    config: { intervals: [1s], topic: t.bars, deadLetterTopic: t.dlq }`,
        {},
      ));
      const reader = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
      const admin = (await Deno.readTextFile(join(dataDir, LOCAL_ADMIN_TOKEN_FILE))).trim();
      await node.pipeline.connector.publish("t.ticks", [{
        key: "BTC-USD",
        value: new TextEncoder().encode("not avro at all"),
      }]);
      const running = node;
      let list: Record<string, unknown> = {};
      await waitFor("the undecodable record in the dead-letter topic", async () => {
        list = await callTool(running.url, reader, "deadletters.list", { stage: "decode" });
        return { done: list.matched === 1, seen: list };
      });
      assert.equal(list.total, 1);
      const [letter] = list.deadLetters as { ref: string; agent: string; source: { topic: string } }[];
      assert.equal(letter!.agent, "bars");
      assert.equal(letter!.source.topic, "t.ticks");
      const none = await callTool(node.url, reader, "deadletters.list", { error: "no such error text" });
      assert.equal(none.matched, 0);

      const shown = await fetch(`${node.url}/api/deadletters/${letter!.ref}`, {
        headers: { authorization: `Bearer ${reader}` },
      });
      const detail = (await shown.json()).deadLetter;
      assert.equal(shown.status, 200);
      assert.equal(detail.value, "text: not avro at all");
      assert.equal(detail.stage, "decode");

      const replay = (token: string) =>
        fetch(`${running.url}/api/deadletters/replay`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ refs: [letter!.ref] }),
        });
      const refused = await replay(reader);
      assert.equal(refused.status, 403);
      await refused.body?.cancel();
      const replayed = await replay(admin);
      const outcome = await replayed.json();
      assert.equal(replayed.status, 200, JSON.stringify(outcome));
      assert.equal(outcome.outcomes[0].status, "replayed");
      const ticks = await readTopicToEnd(node.pipeline.connector, "t.ticks");
      assert.equal(ticks.length, 2);
      assert.equal(ticks[1]!.headers["dlq.replayed-from"], `t.dlq[0]@${letter!.ref.split("@")[1]}`);
      const missing = await fetch(`${node.url}/api/deadletters/0@999`, {
        headers: { authorization: `Bearer ${reader}` },
      });
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await node?.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
