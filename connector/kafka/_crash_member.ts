/**
 * Test helper run as a child process by `kafka_crash_test.ts`: joins a group, commits the records up to
 * offset `commitUpTo`, prints `ready` once it has received `expect` records, then waits to be killed.
 *
 * Usage: `deno run -A _crash_member.ts <brokers> <topic> <group> <commitUpTo> <expect> [sessionTimeoutMs
 * memberIdsFile]` — with the last two, it uses that session timeout and remembers its member id in that file.
 *
 * @module
 */
import { KafkaConnector } from "./kafka_connector.ts";
import { fileMemberIdStore } from "./kafka_member_ids.ts";

const [brokers, topic, group, commitUpTo, expect, sessionTimeoutMs, memberIdsFile] = Deno.args;
const sessionTimeout = Number(sessionTimeoutMs ?? 6000);
const connector = new KafkaConnector({
  brokers: brokers!.split(","),
  clientId: "qistream-crash-member",
  sessionTimeout,
  rebalanceTimeout: Math.max(30_000, sessionTimeout),
  heartbeatInterval: 500,
  maxWaitTimeInMs: 200,
  memberIds: memberIdsFile ? fileMemberIdStore(memberIdsFile) : undefined,
});
let received = 0;
const sub = await connector.subscribe({
  group: group!,
  topics: [topic!],
  fromBeginning: true,
  onBatch: async (batch) => {
    received += batch.records.length;
    const done = batch.records.filter((r) => BigInt(r.offset) <= BigInt(commitUpTo!)).at(-1);
    if (done) await sub.commit(batch.topic, batch.partition, done.offset);
    if (received >= Number(expect)) console.log("ready");
  },
});
await new Promise(() => {}); // until SIGKILL
