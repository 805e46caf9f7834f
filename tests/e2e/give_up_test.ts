/**
 * `deno task start` when an agent can never work: the CryptoCompare publisher points at the (fake) upstream with
 * a refused API key, so every incarnation crashes. Its supervisor exceeds its restart intensity and escalates,
 * the root supervisor exceeds its own and gives up, and the process stops cleanly by itself and exits 1 —
 * with what the synthetic source produced meanwhile stored in PostgreSQL and committed by the sink's group.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { startFakeCryptoCompare } from "../fakes/mod.ts";
import { callTool, spawnStart, type StartedProcess, untilBanner } from "./_pipeline_harness.ts";

const TICKS = "e2e.ticks";
const GROUP = "e2e.pg";

/**
 * The pipeline file. `withSources: false` is the "good config" of the second start: no sources, and a sink in a
 * group of its own that starts at the end of the topic, so it neither moves the first run's committed offsets
 * nor adds rows the first run did not write.
 */
function pipelineYaml(dataDir: string, ccRest: string, ccWs: string, withSources: boolean): string {
  return `
node: { name: e2e-give-up, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: e2e.dlq }
connections:
  cryptocompare: { url: "${ccRest}" }
topics:
  ${TICKS}: { partitions: 3, schema: market.tick }
  e2e.dlq: { partitions: 1 }
agents:
  synthetic:
    kind: synthetic
    enabled: ${withSources}
    publish: [${TICKS}]
    config: { topics: { tick: ${TICKS} }, symbols: [BTC-USD, AAPL, EUR-USD], ratePerSecond: 200 }
  cc:
    kind: cryptocompare
    enabled: ${withSources}
    requires: [cryptocompare]
    publish: [${TICKS}, e2e.dlq]
    config: { wsUrl: "${ccWs}", pairs: [BTC-USD], topics: { tick: ${TICKS} }, minReconnectMs: 0 }
  pg:
    kind: postgres-sink
    subscribe: { topics: [${TICKS}], group: ${
    withSources ? GROUP : `${GROUP}.later`
  }, fromBeginning: ${withSources} }
    batch: { maxRecords: 200, maxWaitMs: 50 }
    config: { table: e2e_give_up_ticks }
`;
}

/** Runs `main.ts start --config file` with a newcomer's environment plus `extra`; collects its output. */
function start(file: string, extra: Record<string, string>): StartedProcess {
  return spawnStart(["--config", file], extra);
}

Deno.test({
  name: "start: a publisher whose API key is refused crashes until the root supervisor gives up; " +
    "the process stops cleanly by itself and exits 1 with everything produced committed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "qistream-give-up-" });
    const dataDir = join(dir, "data");
    const fake = startFakeCryptoCompare({ apiKey: "the-good-key", heartbeatMs: 1000 });
    const failing = join(dir, "failing.yaml");
    const good = join(dir, "good.yaml");
    await Deno.writeTextFile(failing, pipelineYaml(dataDir, fake.restUrl, fake.wsUrl, true));
    await Deno.writeTextFile(good, pipelineYaml(dataDir, fake.restUrl, fake.wsUrl, false));
    const first = start(failing, { CRYPTOCOMPARE_API_KEY: "a-refused-key" });
    let second: StartedProcess | undefined;
    try {
      const started = Date.now();
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 120_000));
      const result = await Promise.race([first.status, timeout]);
      assert.notEqual(result, "timeout", `still running after 120 s:\n${first.output().slice(-4000)}`);
      await first.reading;
      const seconds = (Date.now() - started) / 1000;
      const out = first.output();
      assert.ok(out.includes("qistream node"), `it started:\n${out.slice(-4000)}`);
      assert.equal(
        (result as Deno.CommandStatus).code,
        1,
        `exit code 1 after giving up:\n${out.slice(-4000)}`,
      );
      assert.ok(
        out.includes("The root supervisor gave up (agents kept failing)"),
        `it says the root supervisor gave up:\n${out.slice(-4000)}`,
      );
      assert.match(out, /stream refused the API key/, "the logs carry the upstream's reason");
      // The agent's own supervisor (5 restarts / 30 s) gave up on each round and the root restarted it
      // (3 restarts / 60 s) before giving up itself: far more sockets than one supervisor's budget.
      assert.ok(fake.connections > 6, `the root restarted the failing agent: ${fake.connections} sockets`);
      console.log(`gave up after ${seconds.toFixed(1)} s and ${fake.connections} refused sockets`);

      // Second start, a good config that leaves the first run's group alone: its committed offsets and the
      // rows are exactly what the first run left — nothing produced was left unprocessed or uncommitted.
      second = start(good, {});
      const url = await untilBanner(second, "the second start's banner", 90_000);
      const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
      const stats = await callTool(url, token, "stream.topic_stats", { topic: TICKS, group: GROUP });
      const produced = stats.messages as number;
      assert.ok(produced > 0, `the synthetic source published before the give-up: ${JSON.stringify(stats)}`);
      assert.equal(stats.totalLag, 0, `the sink committed everything produced: ${JSON.stringify(stats)}`);
      for (const p of stats.partitions as { committed: string | null; high: string }[]) {
        // A partition that never received a record may have no commit at all.
        const committed = p.committed ?? (p.high === "0" ? "0" : null);
        assert.equal(committed, p.high, `every partition committed to its end: ${JSON.stringify(stats)}`);
      }
      const rows = await callTool(url, token, "postgres.query", {
        sql: "SELECT count(*)::int AS n FROM e2e_give_up_ticks",
      });
      assert.deepEqual(rows.rows, [{ n: produced }], "every committed tick is in PostgreSQL");
    } finally {
      await first.kill();
      await second?.kill();
      await fake.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
