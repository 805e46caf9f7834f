/**
 * `qistream topics plan|apply` in a subprocess, against the embedded log and the real Kafka from the test
 * services (skipped when KAFKA_BROKERS is unset).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import { runCli } from "./_run_cli_for_test.ts";

async function story(env: Record<string, string>, topic: string) {
  const dir = await Deno.makeTempDir({ prefix: "qistream-cli-topics-" });
  const config = join(dir, "pipeline.yaml");
  const declare = (partitions: number, retentionMs: number, compression = "zstd") =>
    Deno.writeTextFile(
      config,
      `node:\n  dataDir: ${join(dir, "data")}\ntopics:\n  ${topic}:\n    partitions: ${partitions}\n` +
        `    retentionMs: ${retentionMs}\n    compression: ${compression}\n`,
    );
  const cli = (action: string, ...flags: string[]) =>
    runCli(["topics", action, "--config", config, ...flags], env);
  try {
    await declare(2, 3_600_000);
    let r = await cli("plan");
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`\\+ ${topic}: create \\(partitions 2, replication 1, .*compression\\.type=zstd`),
    );
    r = await cli("apply");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Applied: 1 created/);
    r = await cli("plan");
    assert.match(r.stdout, new RegExp(`= ${topic}: unchanged`));
    r = await cli("apply");
    assert.match(r.stdout, /Nothing to apply/);

    await declare(3, 7_200_000);
    r = await cli("apply");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /partitions 2 -> 3/);
    assert.match(r.stdout, /retention\.ms 3600000 -> 7200000/);

    await declare(1, 7_200_000);
    r = await cli("plan");
    assert.equal(r.code, 1, "a plan with a refused change fails");
    assert.match(r.stdout, /REFUSED: cannot reduce partitions from 3 to 1/);
    r = await cli("apply");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Refusing to apply the topic plan \(nothing was changed\)/);
    await declare(3, 7_200_000);
    r = await cli("plan");
    assert.match(r.stdout, new RegExp(`= ${topic}: unchanged`), "still 3 partitions");

    // Another compression on the existing topic: on Kafka shown as risky, not applied without the flag, applied
    // with it; on the embedded log (no codecs there) an ordinary change.
    await declare(3, 7_200_000, "lz4");
    r = await cli("plan");
    assert.equal(r.code, 0, r.stderr);
    if (env.KAFKA_BROKERS) {
      assert.match(r.stdout, new RegExp(`!~ ${topic}: compression\\.type zstd -> lz4 \\(risky: `));
      assert.match(r.stdout, /1 risky \(needs --allow-risky-changes\)/);
      r = await cli("apply");
      assert.equal(r.code, 1, "apply refuses a risky change without the flag");
      assert.match(r.stderr, /nothing was changed.*compression\.type zstd -> lz4/);
      assert.match(r.stderr, /Apply it with --allow-risky-changes/);
      r = await cli("plan");
      assert.match(r.stdout, /compression\.type zstd -> lz4/, "still zstd");
      r = await cli("apply", "--allow-risky-changes");
    } else {
      assert.match(r.stdout, new RegExp(`~ ${topic}: compression\\.type zstd -> lz4$`, "m"));
      r = await cli("apply");
    }
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Applied: 0 created, 0 with partitions added, 1 with config changed/);
    r = await cli("plan");
    assert.match(r.stdout, new RegExp(`= ${topic}: unchanged`), "now lz4");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("topics plan/apply: create, grow, refuse to shrink, change compression (embedded log)", async () => {
  await story({}, "market.cli-test");
});

const brokers = Deno.env.get("KAFKA_BROKERS");
Deno.test({
  name: `topics plan/apply: create, grow, refuse to shrink, hold a risky change back (real Kafka)${
    brokers ? "" : " (skipped: KAFKA_BROKERS is not set)"
  }`,
  ignore: !brokers,
  async fn() {
    const topic = `qistream-cli-topics-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
    try {
      await story({ KAFKA_BROKERS: brokers! }, topic);
    } finally {
      const c = new KafkaConnector({ brokers: brokers!.split(",") });
      await c.connect();
      await c.admin.deleteTopics([topic]).catch(() => {});
      await c.close();
    }
  },
});
