import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { RecordTooLargeError, TopicExistsError, UnknownTopicError } from "../errors.ts";
import { partitionForKey } from "../murmur2.ts";
import type { PartitionBatch, TopicPartition } from "../types.ts";
import { EmbeddedConnector } from "./embedded_connector.ts";
import { bytes, statuses, tempDir, text, until } from "./_test_helpers.ts";

async function open(
  dataDir: string,
  extra: Partial<ConstructorParameters<typeof EmbeddedConnector>[0]> = {},
) {
  const c = new EmbeddedConnector({ dataDir, retryBackoffMs: 20, ...extra });
  await c.connect();
  return c;
}

const topic = (name: string, partitions: number, config: Record<string, string> = {}) => ({
  name,
  partitions,
  replicationFactor: 1,
  config,
});

Deno.test("keys land on murmur2 partitions, offsets start at 0 per partition, null keys spread", async () => {
  const dir = await tempDir();
  const c = await open(dir);
  await c.admin.createTopics([topic("ticks", 6)]);
  const keys = ["BTC-USD", "ETH-USD", "foobar", "BTC-USD"];
  const out = await c.publish("ticks", keys.map((k) => ({ key: k, value: bytes(k) })));
  out.forEach((r, i) => assert.equal(r.partition, partitionForKey(keys[i]!, 6)));
  assert.equal(out[0]!.offset, "0");
  assert.equal(out[3]!.offset, "1"); // same key, same partition, next offset
  const spread = await c.publish(
    "ticks",
    Array.from({ length: 6 }, () => ({ key: null, value: bytes("n") })),
  );
  assert.equal(new Set(spread.map((r) => r.partition)).size, 6);
  const explicit = await c.publish("ticks", [{ key: "BTC-USD", value: null, partition: 5 }]);
  assert.equal(explicit[0]!.partition, 5);
  await assert.rejects(c.publish("ticks", [{ key: "x", value: null, partition: 6 }]), RangeError);
  await assert.rejects(c.publish("nope", [{ key: "x", value: null }]), UnknownTopicError);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("persistence: publish, commit, close, reopen and continue from the committed offset", async () => {
  const dir = await tempDir();
  let c = await open(dir);
  await c.admin.createTopics([
    topic("orders", 2, { "retention.ms": "86400000", "cleanup.policy": "delete" }),
  ]);
  await c.publish("orders", Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: bytes(`v${i}`) })));
  const seen: string[] = [];
  const sub = await c.subscribe({
    group: "g",
    topics: ["orders"],
    fromBeginning: true,
    async onBatch(batch) {
      // Process and commit only the first 3 records of each partition.
      const upTo = batch.records.filter((r) => Number(r.offset) < 3);
      seen.push(...upTo.map((r) => text(r.value)!));
      if (upTo.length > 0) await sub.commit(batch.topic, batch.partition, upTo.at(-1)!.offset);
    },
  });
  await until(() => seen.length === 6, 5000, "six records");
  await c.close();

  c = await open(dir);
  assert.deepEqual(await c.admin.listTopics(), ["orders"]);
  const [described] = await c.admin.describeTopics(["orders", "missing"]);
  assert.equal(described!.partitions, 2);
  assert.equal(described!.config["retention.ms"], "86400000");
  const offsets = await c.offsets("orders", "g");
  assert.deepEqual(offsets.map((o) => o.committed), ["3", "3"]);
  assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), 10);
  const rest: string[] = [];
  await c.subscribe({
    group: "g",
    topics: ["orders"],
    onBatch(batch) {
      rest.push(...batch.records.map((r) => text(r.value)!));
    },
  });
  await until(() => rest.length === 4, 5000, "the 4 uncommitted records");
  assert.deepEqual([...seen, ...rest].sort(), Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
  // New records published after the restart arrive too, and offsets continue.
  const [more] = await c.publish("orders", [{ key: "k0", value: bytes("later") }]);
  assert.equal(more!.offset, String(Number(offsets[more!.partition]!.high)));
  await until(() => rest.includes("later"), 5000, "the new record");
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a torn frame left by a crash is truncated when the connector reopens", async () => {
  const dir = await tempDir();
  let c = await open(dir);
  await c.admin.createTopics([topic("t", 1)]);
  await c.publish("t", [{ key: "a", value: bytes("1") }, { key: "a", value: bytes("2") }]);
  await c.close();
  const segment = `${dir}/topics/t/0/${"0".padStart(20, "0")}.log`;
  await Deno.writeFile(segment, new Uint8Array([0, 0, 1, 0, 9, 9, 9]), { append: true }); // half a frame
  c = await open(dir);
  assert.deepEqual((await c.offsets("t")).map((o) => o.high), ["2"]);
  const [r] = await c.publish("t", [{ key: "a", value: bytes("3") }]);
  assert.equal(r!.offset, "2");
  const values: string[] = [];
  await c.subscribe({
    group: "g",
    topics: ["t"],
    fromBeginning: true,
    onBatch: (b) => {
      values.push(...b.records.map((x) => text(x.value)!));
    },
  });
  await until(() => values.length === 3);
  assert.deepEqual(values, ["1", "2", "3"]);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("group members split partitions and rebalance when one joins and one leaves", async () => {
  const dir = await tempDir();
  const c = await open(dir);
  const events = statuses(c);
  await c.admin.createTopics([topic("ticks", 4)]);
  const log: string[] = [];
  const got = new Map<string, string[]>();
  const member = (name: string) => ({
    group: "sink",
    topics: ["ticks"],
    fromBeginning: true,
    onAssigned: (ps: TopicPartition[]) => void log.push(`${name}+${ps.map((p) => p.partition).join(",")}`),
    onRevoked: (ps: TopicPartition[]) => void log.push(`${name}-${ps.map((p) => p.partition).join(",")}`),
    async onBatch(batch: PartitionBatch) {
      const list = got.get(name) ?? [];
      list.push(...batch.records.map((r) => `${batch.partition}:${r.offset}`));
      got.set(name, list);
      await subs.get(name)!.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset);
    },
  });
  const subs = new Map<string, Awaited<ReturnType<typeof c.subscribe>>>();
  subs.set("a", await c.subscribe(member("a")));
  assert.deepEqual(subs.get("a")!.assignments().map((p) => p.partition).sort(), [0, 1, 2, 3]);
  subs.set("b", await c.subscribe(member("b")));
  assert.deepEqual(subs.get("a")!.assignments().map((p) => p.partition).sort(), [0, 1]);
  assert.deepEqual(subs.get("b")!.assignments().map((p) => p.partition).sort(), [2, 3]);
  assert.deepEqual(log, ["a+0,1,2,3", "a-2,3", "b+2,3"]);

  await c.publish("ticks", Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: bytes(`${i}`) })));
  await until(() => (got.get("a")?.length ?? 0) + (got.get("b")?.length ?? 0) === 40, 5000, "40 records");
  for (const r of got.get("a")!) assert.ok(r.startsWith("0:") || r.startsWith("1:"));
  for (const r of got.get("b")!) assert.ok(r.startsWith("2:") || r.startsWith("3:"));

  await subs.get("a")!.close();
  assert.deepEqual(subs.get("b")!.assignments().map((p) => p.partition).sort(), [0, 1, 2, 3]);
  assert.deepEqual(log.slice(3), ["a-0,1", "b+0,1"]);
  // b resumes a's partitions from a's commits: nothing is delivered twice, nothing is lost.
  await c.publish("ticks", Array.from({ length: 20 }, (_, i) => ({ key: `m${i}`, value: bytes(`m${i}`) })));
  await until(() => got.get("b")!.length + got.get("a")!.length === 60, 5000, "60 records");
  const all = [...got.get("a")!, ...got.get("b")!];
  assert.equal(new Set(all).size, 60);
  assert.ok(events.some((e) => e.type === "rebalancing" && e.group === "sink"));
  assert.ok(events.some((e) => e.type === "revoked" && e.partitions.length === 2));
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a rejected batch is redelivered after a backoff, with an error status, and nothing is skipped", async () => {
  const dir = await tempDir();
  const c = await open(dir);
  const events = statuses(c);
  await c.admin.createTopics([topic("t", 1)]);
  await c.publish("t", [1, 2, 3].map((i) => ({ key: "k", value: bytes(`${i}`) })));
  const deliveries: string[][] = [];
  let failures = 2;
  await c.subscribe({
    group: "g",
    topics: ["t"],
    fromBeginning: true,
    onBatch(batch) {
      deliveries.push(batch.records.map((r) => r.offset));
      if (failures-- > 0) throw new Error("sink down");
    },
  });
  await until(() => deliveries.length === 3, 5000, "two redeliveries");
  assert.deepEqual(deliveries, [["0", "1", "2"], ["0", "1", "2"], ["0", "1", "2"]]);
  const errors = events.filter((e) => e.type === "error");
  assert.equal(errors.length, 2);
  assert.match(errors[0]!.type === "error" ? errors[0]!.error.message : "", /sink down/);
  await c.publish("t", [{ key: "k", value: bytes("4") }]);
  await until(() => deliveries.length === 4);
  assert.deepEqual(deliveries[3], ["3"]);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the next batch of a partition waits for the previous one; pause and resume stop and restart it", async () => {
  const dir = await tempDir();
  const c = await open(dir, { maxBatchRecords: 2 });
  await c.admin.createTopics([topic("t", 2)]);
  await c.publish(
    "t",
    Array.from({ length: 6 }, (_, i) => ({ key: "k", value: bytes(`${i}`), partition: 0 })),
  );
  let inFlight = 0;
  let maxInFlight = 0;
  const seen: string[] = [];
  const witness: string[] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => release = r);
  const sub = await c.subscribe({
    group: "g",
    topics: ["t"],
    fromBeginning: true,
    async onBatch(batch) {
      if (batch.partition === 1) return void witness.push(...batch.records.map((r) => r.offset));
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await gate;
      seen.push(...batch.records.map((r) => r.offset));
      inFlight--;
    },
  });
  await until(() => inFlight === 1);
  sub.pause([{ topic: "t", partition: 0 }]);
  release();
  await until(() => seen.length === 2);
  // A witness: a record published to the other partition now is fetched and delivered; partition 0's next batch,
  // in the log all along, would have been delivered by then had the pause not held it.
  await c.publish("t", [{ key: "w", value: bytes("w"), partition: 1 }]);
  await until(() => witness.length === 1);
  assert.deepEqual(seen, ["0", "1"], "paused: no further batch");
  gate = Promise.resolve();
  sub.resume([{ topic: "t", partition: 0 }]);
  await until(() => seen.length === 6);
  assert.deepEqual(seen, ["0", "1", "2", "3", "4", "5"]);
  assert.equal(maxInFlight, 1);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fromBeginning false starts at the end; a group's commit is ignored once the partition moved", async () => {
  const dir = await tempDir();
  const c = await open(dir);
  await c.admin.createTopics([topic("t", 1)]);
  await c.publish("t", [{ key: "k", value: bytes("old") }]);
  const seen: string[] = [];
  const sub = await c.subscribe({
    group: "late",
    topics: ["t"],
    onBatch: (b) => {
      seen.push(...b.records.map((r) => text(r.value)!));
    },
  });
  await c.publish("t", [{ key: "k", value: bytes("new") }]);
  await until(() => seen.length === 1);
  assert.deepEqual(seen, ["new"]);
  await assert.rejects(sub.commit("t", 0, "5"), RangeError);
  await assert.rejects(sub.commit("t", 0, "x"), TypeError);
  await sub.close();
  await sub.commit("t", 0, "1"); // no longer owned: ignored
  assert.equal((await c.offsets("t", "late"))[0]!.committed, undefined);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("admin: create, describe, add partitions (fewer refused), alter configs, delete", async () => {
  const dir = await tempDir();
  const c = await open(dir);
  await c.admin.createTopics([topic("a", 2), topic("b", 1, { "cleanup.policy": "compact" })]);
  await assert.rejects(c.admin.createTopics([topic("a", 2)]), TopicExistsError);
  await assert.rejects(c.admin.createTopics([topic("bad/name", 1)]), TypeError);
  await assert.rejects(c.admin.createTopics([topic("z", 0)]), RangeError);
  assert.deepEqual(await c.admin.listTopics(), ["a", "b"]);
  const seen = new Set<number>();
  const sub = await c.subscribe({ group: "g", topics: ["a"], onBatch: (b) => void seen.add(b.partition) });
  await c.admin.createPartitions("a", 4);
  assert.equal(await c.partitionCount("a"), 4);
  assert.deepEqual(sub.assignments().map((p) => p.partition).sort(), [0, 1, 2, 3]);
  await assert.rejects(c.admin.createPartitions("a", 3), RangeError);
  await c.admin.createPartitions("a", 4); // unchanged: a no-op
  await c.publish("a", [{ key: null, value: null, partition: 3 }]);
  await until(() => seen.has(3), 5000, "delivery from the new partition");
  await c.admin.alterTopicConfig("b", { "retention.ms": "1000" });
  const [b] = await c.admin.describeTopics(["b"]);
  assert.equal(b!.config["retention.ms"], "1000");
  assert.equal(b!.config["cleanup.policy"], "compact");
  await assert.rejects(c.admin.alterTopicConfig("b", { "retention.ms": "soon" }), RangeError);
  await assert.rejects(c.admin.alterTopicConfig("nope", {}), UnknownTopicError);
  await c.admin.deleteTopics(["a"]);
  assert.deepEqual(sub.assignments(), []);
  assert.deepEqual(await c.admin.listTopics(), ["b"]);
  await assert.rejects(c.partitionCount("a"), UnknownTopicError);
  await c.admin.createTopics([topic("a", 1)]);
  assert.deepEqual((await c.offsets("a")).map((o) => [o.low, o.high]), [["0", "0"]]);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("retention through topic configs deletes old segments; low offsets move and consumers skip ahead", async () => {
  const dir = await tempDir();
  const c = await open(dir, { segmentBytes: 2000 });
  await c.admin.createTopics([topic("t", 1, { "retention.bytes": "4000" })]);
  await c.publish(
    "t",
    Array.from({ length: 200 }, (_, i) => ({ key: "k", value: bytes(`${i}`.padEnd(100)) })),
  );
  assert.ok(await c.applyRetention() > 0);
  const [o] = await c.offsets("t");
  assert.ok(Number(o!.low) > 100, `low ${o!.low}`);
  assert.equal(o!.high, "200");
  const first: string[] = [];
  await c.subscribe({
    group: "g",
    topics: ["t"],
    fromBeginning: true,
    onBatch: (b) => {
      first.push(b.records[0]!.offset);
    },
  });
  await until(() => first.length > 0);
  assert.equal(first[0], o!.low);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("oversized records are refused with RecordTooLargeError; metrics count records out and in", async () => {
  const dir = await tempDir();
  const registry = new Registry();
  const c = await open(dir, { maxMessageBytes: 100, registry });
  await c.admin.createTopics([topic("t", 1)]);
  await assert.rejects(c.publish("t", [{ key: "k", value: new Uint8Array(200) }]), RecordTooLargeError);
  assert.equal((await c.offsets("t"))[0]!.high, "0", "nothing of a refused call is written");
  await c.publish("t", [{ key: "k", value: new Uint8Array(10) }]);
  let n = 0;
  await c.subscribe({
    group: "g",
    topics: ["t"],
    fromBeginning: true,
    onBatch: (b) => void (n += b.records.length),
  });
  await until(() => n === 1);
  const metrics = await registry.metrics();
  assert.match(metrics, /qistream_records_out_total\{connector="embedded",topic="t"\} 1/);
  assert.match(metrics, /qistream_records_in_total\{connector="embedded",topic="t",group="g"\} 1/);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("concurrent publishes keep call order per partition and all resolve durable", async () => {
  const dir = await tempDir();
  const c = await open(dir);
  await c.admin.createTopics([topic("t", 3)]);
  const results = await Promise.all(
    Array.from({ length: 300 }, (_, i) => c.publish("t", [{ key: `k${i % 5}`, value: bytes(`${i}`) }])),
  );
  const byPartition = new Map<number, number[]>();
  for (const [r] of results) {
    const list = byPartition.get(r!.partition) ?? [];
    list.push(Number(r!.offset));
    byPartition.set(r!.partition, list);
  }
  for (const offsets of byPartition.values()) assert.deepEqual(offsets, offsets.map((_, i) => i));
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("close revokes every member once, reassigns nothing, and persists the commits", async () => {
  const dir = await tempDir();
  let c = await open(dir);
  await c.admin.createTopics([topic("t", 4)]);
  await c.publish("t", Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value: bytes(`${i}`) })));
  const calls: string[] = [];
  let delivered = 0;
  for (const name of ["a", "b"]) {
    const sub = await c.subscribe({
      group: "g",
      topics: ["t"],
      fromBeginning: true,
      onAssigned: () => void calls.push(`${name}+`),
      onRevoked: () => void calls.push(`${name}-`),
      async onBatch(b) {
        delivered += b.records.length;
        await sub.commit(b.topic, b.partition, b.records.at(-1)!.offset);
      },
    });
  }
  await until(() => delivered === 8);
  calls.length = 0;
  await c.close();
  assert.deepEqual(calls.sort(), ["a-", "b-"]);
  await assert.rejects(c.publish("t", []), /closed/);
  c = await open(dir);
  assert.equal((await c.offsets("t", "g")).reduce((n, o) => n + Number(o.committed ?? 0), 0), 8);
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("connectors of one process on the same dir share the log and its groups, like two Kafka clients", async () => {
  const dir = await tempDir();
  const one = await open(dir);
  const two = await open(dir);
  await one.admin.createTopics([topic("t", 2)]);
  assert.deepEqual(await two.admin.listTopics(), ["t"]);
  const got: string[] = [];
  const member = (c: EmbeddedConnector) =>
    c.subscribe({
      group: "g",
      topics: ["t"],
      fromBeginning: true,
      async onBatch(b) {
        got.push(...b.records.map((r) => `${b.partition}:${r.offset}`));
        await subs.get(c)!.commit(b.topic, b.partition, b.records.at(-1)!.offset);
      },
    });
  const subs = new Map<EmbeddedConnector, Awaited<ReturnType<EmbeddedConnector["subscribe"]>>>();
  subs.set(one, await member(one));
  subs.set(two, await member(two));
  assert.equal(subs.get(one)!.assignments().length, 1);
  assert.equal(subs.get(two)!.assignments().length, 1);
  await one.publish("t", Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: null })));
  await until(() => got.length === 10);
  await one.close(); // a "process" leaves: its partition moves to the other connector's member
  assert.equal(subs.get(two)!.assignments().length, 2);
  await two.publish("t", Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: null })));
  await until(() => got.length === 20);
  assert.equal(new Set(got).size, 20);
  await two.close();
  // The last close released the lock: another process could open it now.
  await assert.rejects(Deno.stat(`${dir}/LOCK`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("use before connect rejects with a ConnectorError instead of throwing synchronously", async () => {
  const dir = await tempDir();
  const c = new EmbeddedConnector({ dataDir: dir });
  await assert.rejects(c.publish("t", []), /connect\(\) first/);
  await assert.rejects(c.offsets("t"), /connect\(\) first/);
  await assert.rejects(c.partitionCount("t"), /connect\(\) first/);
  await assert.rejects(c.admin.listTopics(), /connect\(\) first/);
  assert.throws(() => new EmbeddedConnector({ dataDir: "" }), TypeError);
  assert.throws(() => new EmbeddedConnector({ dataDir: dir, maxBatchRecords: 0 }), RangeError);
  await Deno.remove(dir, { recursive: true });
});
