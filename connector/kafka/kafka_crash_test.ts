/**
 * A real crash: a group member in a child process is SIGKILLed (no leave, no close) after committing part of
 * what it received; a new member of the same group then gets every uncommitted record again, starting exactly
 * at the committed offset, once the broker expires the dead member's session. Needs `KAFKA_BROKERS`.
 */
import assert from "node:assert/strict";
import type { ConsumedRecord } from "../types.ts";
import { waitFor, within } from "../contract/_wait.ts";
import { join } from "node:path";
import { KafkaConnector } from "./kafka_connector.ts";
import { fileMemberIdStore } from "./kafka_member_ids.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");

/**
 * Runs `_crash_member.ts` with `args` after the brokers, waits until it printed `ready` (it received the
 * records and committed through offset 4), and returns a function that SIGKILLs it.
 */
async function startCrashMember(args: string[]): Promise<{ kill(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_crash_member.ts", import.meta.url).pathname, brokers!, ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await lines.cancel().catch(() => {});
  };
  let out = "";
  try {
    await within(
      (async () => {
        while (!out.includes("ready")) {
          const { value, done } = await lines.read();
          if (done) throw new Error(`the member exited before it was ready: ${out}`);
          out += value;
        }
      })(),
      60_000,
      "the child member to receive the records",
    );
  } catch (error) {
    await kill();
    throw error;
  }
  return { kill };
}

/** Joins `group` on `successor` within `joinWithinMs` and checks it gets exactly the uncommitted offsets 5–9. */
async function assertRedelivered(
  successor: KafkaConnector,
  topic: string,
  group: string,
  joinWithinMs: number,
  what: string,
): Promise<void> {
  const got: ConsumedRecord[] = [];
  const sub = await within(
    successor.subscribe({
      group,
      topics: [topic],
      fromBeginning: true,
      onBatch: (b) => void got.push(...b.records),
    }),
    joinWithinMs,
    what,
  );
  try {
    await waitFor(() => got.length >= 5, 30_000, "the uncommitted records");
    assert.deepEqual(got.map((r) => r.offset), ["5", "6", "7", "8", "9"]);
  } finally {
    await sub.close();
  }
}

Deno.test({
  name: `kafka: a SIGKILLed member's uncommitted records are redelivered to the next member${
    brokers ? "" : " (skipped: KAFKA_BROKERS is not set)"
  }`,
  ignore: !brokers,
  // kafkajs keeps sockets and timers it does not await in disconnect(); every connector is closed in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const c = new KafkaConnector({
      brokers: brokers!.split(","),
      clientId: "qistream-test",
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 200,
    });
    const topic = `kafka-crash-${crypto.randomUUID().slice(0, 8)}`;
    const group = `crash-${crypto.randomUUID().slice(0, 8)}`;
    let child: { kill(): Promise<void> } | undefined;
    try {
      await c.admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1, config: {} }]);
      await c.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: "k", value: new TextEncoder().encode(`v${i}`) })),
      );
      child = await startCrashMember([topic, group, "4", "10"]);
      await waitFor(async () => (await c.offsets(topic, group))[0]?.committed === "5", 30_000, "its commit");
      await child.kill();
      child = undefined;
      await assertRedelivered(c, topic, group, 60_000, "joining after the dead member's session expired");
    } finally {
      await child?.kill();
      await c.admin.deleteTopics([topic]);
      await c.close();
    }
  },
});

Deno.test({
  name: `kafka: a restarted node removes the member it left behind when it was SIGKILLed, so its successor ` +
    `consumes long before that member's session would expire${
      brokers ? "" : " (skipped: KAFKA_BROKERS is not set)"
    }`,
  ignore: !brokers,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // A minute of session: without the removal the successor could not join within the 30 s waited below.
    const sessionTimeout = 60_000;
    const dir = await Deno.makeTempDir({ prefix: "qistream-members-" });
    const file = join(dir, "kafka-members.json");
    const options = {
      brokers: brokers!.split(","),
      clientId: "qistream-test",
      sessionTimeout,
      rebalanceTimeout: sessionTimeout,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 200,
    };
    const admin = new KafkaConnector(options);
    const topic = `kafka-evict-${crypto.randomUUID().slice(0, 8)}`;
    const group = `evict-${crypto.randomUUID().slice(0, 8)}`;
    let child: { kill(): Promise<void> } | undefined;
    const successor = new KafkaConnector({ ...options, memberIds: fileMemberIdStore(file) });
    try {
      await admin.admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1, config: {} }]);
      await admin.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: "k", value: new TextEncoder().encode(`v${i}`) })),
      );
      child = await startCrashMember([topic, group, "4", "10", String(sessionTimeout), file]);
      await waitFor(
        async () => (await admin.offsets(topic, group))[0]?.committed === "5",
        30_000,
        "its commit",
      );
      assert.ok(fileMemberIdStore(file).get(group), "the member remembered its id");
      await child.kill();
      child = undefined;
      const what = "joining although the dead member's session has most of a minute to run";
      await assertRedelivered(successor, topic, group, 30_000, what);
      assert.equal(fileMemberIdStore(file).get(group), undefined, "a clean close forgets the member id");
    } finally {
      await child?.kill();
      await admin.admin.deleteTopics([topic]);
      await successor.close();
      await admin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
