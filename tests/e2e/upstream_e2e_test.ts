/**
 * End to end with the real-market publishers: the `cryptocompare` and `twelvedata` agents stream from local
 * fakes of the paid APIs (keys given as a user would, through `CRYPTOCOMPARE_API_KEY` / `TWELVEDATA_API_KEY`),
 * their ticks flow over the embedded log into embedded PostgreSQL and are read back through `/mcp`; a malformed
 * upstream frame lands on the node's dead-letter topic with its error headers; each publisher's Worker may
 * reach exactly its fake's host:port.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ConsumedRecord } from "../../connector/types.ts";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import type { ActorNode, TreeNode } from "../../supervisor/mod.ts";
import { startFakeCryptoCompare, startFakeTwelveData } from "../fakes/mod.ts";
import { callTool, runId, startNode, testConfig, waitFor } from "./_pipeline_harness.ts";

const CC_KEY = "cc-e2e-key";
const TD_KEY = "td-e2e-key";
const AGG = "5~CCCAGG~BTC~USD";
/** Ticks each fake streams (distinct timestamps, so each is a distinct row). */
const STREAMED = 5;
const MALFORMED = '{"TYPE":"0","M":"Coinbase","FSYM":"BTC","TSYM":"USD","P":"abc"}';

function pipelineYaml(id: string, dataDir: string): string {
  return `
node: { name: e2e-upstream, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: e2e.dlq.${id} }
connections:
  cryptocompare: { url: "\${CC_URL}" }
  twelvedata: { url: "\${TD_URL}" }
topics:
  e2e.ticks.${id}: { partitions: 3, schema: market.tick }
  e2e.dlq.${id}: { partitions: 1 }
agents:
  cc:
    kind: cryptocompare
    requires: [cryptocompare]
    publish: [e2e.ticks.${id}, e2e.dlq.${id}]
    config:
      wsUrl: "\${CC_WS_URL}"
      pairs: [BTC-USD]
      topics: { tick: e2e.ticks.${id} }
      heartbeatIntervalMs: 5000
      minReconnectMs: 50
      lingerMs: 5
  td:
    kind: twelvedata
    requires: [twelvedata]
    publish: [e2e.ticks.${id}, e2e.dlq.${id}]
    config:
      wsUrl: "\${TD_WS_URL}"
      symbols: [AAPL, EUR/USD]
      topics: { tick: e2e.ticks.${id} }
      heartbeatMs: 5000
      lingerMs: 5
  pg:
    kind: postgres-sink
    subscribe: { topics: [e2e.ticks.${id}], group: e2e.pg.${id}, fromBeginning: true }
    batch: { maxRecords: 100, maxWaitMs: 20 }
    config: { table: e2e_upstream_${id} }
`;
}

function findActor(node: TreeNode, id: string): ActorNode | undefined {
  if (node.type === "actor") return node.id === id ? node : undefined;
  if (node.type !== "supervisor") return undefined;
  for (const child of node.children) {
    const found = findActor(child, id);
    if (found) return found;
  }
  return undefined;
}

Deno.test({
  name: "e2e: CryptoCompare and Twelve Data (fakes) → embedded log → embedded PostgreSQL; malformed frame " +
    "dead-lettered; each publisher's Worker reaches only its upstream",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const table = `e2e_upstream_${id}`;
    const dlqTopic = `e2e.dlq.${id}`;
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-e2e-upstream-" });
    const cc = startFakeCryptoCompare({ apiKey: CC_KEY, heartbeatMs: 1000 });
    const td = startFakeTwelveData({ apiKey: TD_KEY });
    let node: Awaited<ReturnType<typeof startNode>> | undefined;
    let dlqSubscription: { close(): Promise<void> } | undefined;
    try {
      const config = testConfig(pipelineYaml(id, dataDir), {
        CRYPTOCOMPARE_API_KEY: CC_KEY,
        TWELVEDATA_API_KEY: TD_KEY,
        CC_URL: cc.restUrl,
        CC_WS_URL: cc.wsUrl,
        TD_URL: td.restUrl,
        TD_WS_URL: td.wsUrl,
      });
      assert.equal(config.connections.cryptocompare?.apiKey, CC_KEY, "CRYPTOCOMPARE_API_KEY sets the key");
      assert.equal(config.connections.twelvedata?.apiKey, TD_KEY, "TWELVEDATA_API_KEY sets the key");
      node = await startNode(config);
      const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();

      // Both publishers are connected and subscribed with the right keys (a wrong key would be refused).
      await cc.waitFor(() => cc.openSockets === 1 && cc.received.length > 0, 30_000);
      await td.waitFor(
        () =>
          td.openSockets === 1 && td.received.some((m) => (m as { action?: string }).action === "subscribe"),
        30_000,
      );
      assert.ok(
        td.requests.some((r) => r.path === "/quote" && r.authorization === `apikey ${TD_KEY}`),
        `the Twelve Data snapshot went to connections.twelvedata.url with the key: ${
          JSON.stringify(td.requests)
        }`,
      );

      for (let i = 0; i < STREAMED; i++) {
        cc.ticker(AGG, {
          PRICE: 65_000 + i,
          LASTUPDATE: 1_700_000_000 + i,
          BID: 64_999 + i,
          ASK: 65_001 + i,
        });
        td.price(i % 2 === 0 ? "AAPL" : "EUR/USD", 190 + i, { timestamp: 1_700_000_000 + i });
      }
      cc.sendRaw(MALFORMED);

      const quotes = td.requests.filter((r) => r.path === "/quote").length;
      const expected = { cryptocompare: STREAMED, twelvedata: STREAMED + quotes };
      const bySource = async () => {
        const result = await callTool(node!.url, token, "postgres.query", {
          sql: `SELECT source, count(*)::int AS n FROM ${table} GROUP BY source ORDER BY source`,
        });
        return Object.fromEntries(
          (result.rows as { source: string; n: number }[]).map((r) => [r.source, r.n]),
        );
      };
      await waitFor("ticks of both sources in embedded PostgreSQL", async () => {
        const seen = await bySource();
        return {
          done: seen.cryptocompare === expected.cryptocompare && seen.twelvedata === expected.twelvedata,
          seen: { seen, expected },
        };
      }, 60_000);
      assert.deepEqual(await bySource(), expected, "every streamed tick once, by source");
      const btc = await callTool(node.url, token, "postgres.query", {
        sql: `SELECT symbol, price FROM ${table} WHERE source = 'cryptocompare' ORDER BY ts`,
      });
      assert.deepEqual(
        btc.rows,
        Array.from({ length: STREAMED }, (_, i) => ({ symbol: "BTC-USD", price: 65_000 + i })),
      );
      const fx = await callTool(node.url, token, "postgres.query", {
        sql: `SELECT DISTINCT symbol FROM ${table} WHERE source = 'twelvedata' ORDER BY symbol`,
      });
      assert.deepEqual(
        fx.rows,
        [{ symbol: "AAPL" }, { symbol: "EUR-USD" }],
        "Twelve Data symbols normalised",
      );

      // The malformed frame is on the node's dead-letter topic, read by a group of our own.
      const letters: ConsumedRecord[] = [];
      dlqSubscription = await node.pipeline.connector.subscribe({
        group: `e2e.dlq-reader.${id}`,
        topics: [dlqTopic],
        fromBeginning: true,
        onBatch: (batch) => {
          letters.push(...batch.records);
        },
      });
      await waitFor(
        "the malformed frame on the dead-letter topic",
        () => Promise.resolve({ done: letters.length >= 1, seen: letters.length }),
        30_000,
      );
      assert.equal(letters.length, 1, "exactly the one malformed frame was dead-lettered");
      const [letter] = letters;
      assert.equal(new TextDecoder().decode(letter!.value!), MALFORMED, "the raw frame, as received");
      assert.deepEqual(
        {
          stage: letter!.headers["dlq.stage"],
          errorClass: letter!.headers["dlq.error.class"],
          agent: letter!.headers["dlq.agent"],
          upstream: letter!.headers["dlq.source.topic"],
          source: letter!.headers["source"],
        },
        {
          stage: "source",
          errorClass: "MalformedPayloadError",
          agent: "root/cc/cc-0",
          upstream: "cryptocompare.ws",
          source: "cryptocompare",
        },
      );
      assert.match(letter!.headers["dlq.error.message"] ?? "", /field P: expected number/);
      assert.ok(letter!.headers["correlation-id"], "a dead letter carries a correlation id");

      // Least privilege: each publisher's Worker may reach its fake's host:port and nothing else.
      const anonymous = await fetch(`${node.url}/api/tree`);
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401, "/api/tree needs a token");
      const tree =
        await (await fetch(`${node.url}/api/tree`, { headers: { authorization: `Bearer ${token}` } }))
          .json() as TreeNode;
      for (const [actor, fake] of [["cc-0", cc], ["td-0", td]] as const) {
        const found = findActor(tree, actor);
        assert.ok(found, `actor ${actor} in /api/tree`);
        assert.equal(found.state, "running");
        assert.equal(found.restarts, 0, `${actor} never crashed: ${JSON.stringify(found.lastError)}`);
        assert.deepEqual(found.permissions, {
          net: [new URL(fake.restUrl).host],
          read: false,
          write: false,
          env: false,
          run: false,
          ffi: false,
          sys: false,
          import: false,
        }, `${actor}'s Worker permissions`);
      }
      assert.deepEqual(findActor(node.pipeline.tree(), "cc-0")?.permissions.net, [new URL(cc.restUrl).host]);
      assert.equal(findActor(tree, "pg-0")?.permissions.net, false, "the sink has no network of its own");
    } finally {
      await dlqSubscription?.close();
      await node?.stop();
      await cc.close();
      await td.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
