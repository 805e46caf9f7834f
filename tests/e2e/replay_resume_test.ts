/**
 * A backtest interrupted by SIGKILL: a node replays an N-line file to Kafka, is killed at about half of it, and a
 * restarted node resumes from the source offset saved in `qistream.source-offsets` — the topic then holds every
 * line, and at most one batch more than N records (the batch that was unacknowledged when the node died).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { needs } from "../service_env.ts";
import { runId, spawnStart, untilBanner, waitFor } from "./_pipeline_harness.ts";
import { serviceEnv, TopicProbe, writeTickFile } from "./_cluster_harness.ts";

const N = 3_000;
const BATCH = 100;

function pipelineYaml(id: string, dataDir: string, path: string): string {
  return `
node: { name: resume-${id}, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: resume.dlq.${id} }
connections:
  kafka: { brokers: "\${KAFKA_BROKERS}", sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 }
topics:
  resume.ticks.${id}: { partitions: 3, schema: market.tick }
  resume.dlq.${id}: { partitions: 1 }
agents:
  replay:
    kind: replay
    restart: transient
    publish: [resume.ticks.${id}, resume.dlq.${id}]
    config:
      path: ${path}
      speed: 3
      batchSize: ${BATCH}
      topics: { tick: resume.ticks.${id} }
`;
}

Deno.test({
  name: "replay SIGKILLed at 50 % resumes from its source offset: the topic holds all N lines and at most " +
    "N + one batch records (needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL)",
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const id = runId();
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-resume-" });
    const topic = `resume.ticks.${id}`;
    const probe = new TopicProbe(dataDir);
    const file = join(dataDir, "pipeline.yaml");
    // 3 000 lines 10 ms apart at 3× speed: about 10 s of replay.
    await Deno.writeTextFile(file, pipelineYaml(id, dataDir, await writeTickFile(dataDir, N, 10)));
    const env = { ...serviceEnv(), QISTREAM_CONFIG: file };
    const first = spawnStart([], env);
    let second: ReturnType<typeof spawnStart> | undefined;
    try {
      await untilBanner(first, "the first node's banner");
      let atKill = 0;
      await waitFor("half of the file in the topic", async () => {
        atKill = await probe.count(topic);
        return { done: atKill >= N / 2, seen: atKill };
      }, 60_000);
      first.child.kill("SIGKILL");
      await first.status;
      assert.ok(atKill < N, `the replay was killed before it finished (${atKill} of ${N})`);

      second = spawnStart([], env);
      await untilBanner(second, "the second node's banner");
      let seen = { total: 0, distinct: 0 };
      await waitFor("every line in the topic", async () => {
        seen = await probe.ticks(topic);
        return { done: seen.distinct === N, seen };
      }, 60_000);
      const resumed = second.output().match(/resuming \S+ after line (\d+)/);
      assert.ok(resumed, `the second node resumed from a saved line:\n${second.output().slice(-3000)}`);
      assert.ok(Number(resumed[1]) >= atKill - BATCH, `it resumed near the kill (${resumed[1]}, ${atKill})`);
      assert.ok(
        seen.total <= N + BATCH,
        `the topic holds ${seen.total} records for ${N} lines: more than one batch (${BATCH}) replayed twice`,
      );
    } finally {
      await first.kill();
      await second?.kill();
      await probe.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
