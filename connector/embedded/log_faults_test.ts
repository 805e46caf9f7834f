// The embedded log survives short faults (issue 10 item 9), injected through the LogFs seam.
import assert from "node:assert/strict";
import { PublishError } from "../errors.ts";
import type { ConnectorStatus } from "../types.ts";
import { EmbeddedConnector, type EmbeddedConnectorOptions } from "./embedded_connector.ts";
import { FaultyFs } from "./_faulty_fs.ts";
import { MAX_OPEN_READERS, PartitionLog } from "./partition_log.ts";
import { bytes, statuses, tempDir, text, until } from "./_test_helpers.ts";

async function open(dataDir: string, extra: Partial<EmbeddedConnectorOptions> = {}) {
  const c = new EmbeddedConnector({ dataDir, retryBackoffMs: 20, maxRetryBackoffMs: 100, ...extra });
  await c.connect();
  return c;
}

const topic = (name: string, partitions: number, config: Record<string, string> = {}) => ({
  name,
  partitions,
  replicationFactor: 1,
  config,
});

/** Values of every record of one partition, read straight from its log after the connector closed. */
async function partitionValues(dir: string, name: string, partition: number): Promise<string[]> {
  const { log, report } = await PartitionLog.open(`${dir}/topics/${name}/${partition}`, {
    segmentBytes: 1 << 20,
    fsync: false,
  });
  try {
    assert.equal(report.truncatedBytes, 0, "no torn bytes were left in the segment");
    const records = await log.read(0, 10_000, 1 << 30);
    records.forEach((r, i) => assert.equal(r.offset, i, "offsets are contiguous"));
    return records.map((r) => text(r.value)!);
  } finally {
    await log.close();
  }
}

const errors = (seen: ConnectorStatus[]) =>
  seen.filter((s): s is Extract<ConnectorStatus, { type: "error" }> => s.type === "error");

Deno.test("embedded faults: a transient ENOSPC half-way through a write is retried; the partition goes on, each record once", async () => {
  const dir = await tempDir();
  const fs = new FaultyFs();
  const c = await open(dir, { fs });
  const seen = statuses(c);
  await c.admin.createTopics([topic("t", 1)]);
  await c.publish("t", [{ key: "k", value: bytes("before") }]);
  fs.writes = 3; // three torn writes on a full disk, then space again
  const out = await c.publish("t", ["a", "b", "c"].map((v) => ({ key: "k", value: bytes(v) })));
  assert.deepEqual(out.map((r) => r.offset), ["1", "2", "3"]);
  assert.equal(fs.injected, 3);
  assert.ok(errors(seen).some((s) => /retrying a failed write: No space left/.test(s.error.message)));
  await c.publish("t", [{ key: "k", value: bytes("after") }]);
  await c.close();
  assert.deepEqual(await partitionValues(dir, "t", 0), ["before", "a", "b", "c", "after"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("embedded faults: a disk full past the retry window fails the publish (retriable), not the partition", async () => {
  const dir = await tempDir();
  const fs = new FaultyFs();
  const c = await open(dir, { fs, writeRetryMs: 300 });
  await c.admin.createTopics([topic("t", 1)]);
  fs.syncs = 1_000_000; // the fsync keeps failing
  const error = await c.publish("t", [{ key: "k", value: bytes("lost?") }]).then(() => null, (e) => e);
  assert.ok(error instanceof PublishError, String(error));
  assert.equal(error.retriable, true, "nothing was written: sending it again is safe");
  fs.syncs = 0;
  const out = await c.publish("t", [{ key: "k", value: bytes("again") }]);
  assert.deepEqual(out.map((r) => r.offset), ["0"], "the failed round left no record and no hole");
  await c.close();
  assert.deepEqual(await partitionValues(dir, "t", 0), ["again"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("embedded faults: a publish spanning partitions whose second partition fails once lands exactly once", async () => {
  const dir = await tempDir();
  const fs = new FaultyFs();
  const c = await open(dir, { fs });
  await c.admin.createTopics([topic("t", 2)]);
  fs.match = "/t/1/";
  fs.writes = 1;
  const records = [0, 1, 0, 1].map((partition, i) => ({
    partition,
    key: null,
    value: bytes(`p${partition}-${i}`),
  }));
  const out = await c.publish("t", records);
  assert.deepEqual(out.map((r) => `${r.partition}@${r.offset}`), ["0@0", "1@0", "0@1", "1@1"]);
  assert.equal(fs.injected, 1);
  // A fault that outlasts the window: partition 0 is written, partition 1 is not; the error says a resend
  // would duplicate, and is not retriable.
  const c2 = await open(await tempDir(), { fs, writeRetryMs: 200 });
  await c2.admin.createTopics([topic("t", 2)]);
  fs.writes = 1_000_000;
  const error = await c2.publish("t", records).then(() => null, (e) => e);
  fs.writes = 0;
  assert.ok(error instanceof PublishError);
  assert.equal(error.retriable, false);
  assert.match(error.message, /partitions 0 were written and partitions 1 were not.*would duplicate/);
  await c2.close();
  await c.close();
  assert.deepEqual(await partitionValues(dir, "t", 0), ["p0-0", "p0-2"]);
  assert.deepEqual(await partitionValues(dir, "t", 1), ["p1-1", "p1-3"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("embedded faults: a read error is reported and retried; the fetcher delivers everything", async () => {
  const dir = await tempDir();
  const fs = new FaultyFs();
  const c = await open(dir, { fs, maxBatchRecords: 5 });
  const seen = statuses(c);
  await c.admin.createTopics([topic("t", 1)]);
  await c.publish("t", Array.from({ length: 20 }, (_, i) => ({ key: "k", value: bytes(`v${i}`) })));
  fs.reads = 2;
  const got: string[] = [];
  const sub = await c.subscribe({
    group: "g",
    topics: ["t"],
    fromBeginning: true,
    onBatch: (b) => void got.push(...b.records.map((r) => text(r.value)!)),
  });
  await until(() => got.length >= 20, 10_000, "all 20 records despite two read errors");
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `v${i}`));
  assert.equal(fs.injected, 2);
  assert.ok(
    errors(seen).some((s) =>
      /Cannot read t\[0\] at offset 0: Input\/output error.*retrying in/.test(s.error.message)
    ),
    JSON.stringify(errors(seen).map((s) => s.error.message)),
  );
  await sub.close();
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name:
    "embedded faults: segment readers are closed, so open file descriptors stay bounded over many segments",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;
    const dir = await tempDir();
    const c = await open(dir, { fsync: false, maxBatchRecords: 50 });
    await c.admin.createTopics([topic("t", 1, { "segment.bytes": "4096" })]);
    const value = bytes("x".repeat(100));
    for (let i = 0; i < 30; i++) {
      await c.publish("t", Array.from({ length: 100 }, () => ({ key: "k", value })));
    }
    const segments = [...Deno.readDirSync(`${dir}/topics/t/0`)].length;
    assert.ok(segments >= 100, `${segments} segments`);
    const before = openFds();
    for (const group of ["g1", "g2"]) {
      let n = 0;
      const sub = await c.subscribe({
        group,
        topics: ["t"],
        fromBeginning: true,
        onBatch: (b) => void (n += b.records.length),
      });
      await until(() => n >= 3000, 20_000, `group ${group} read all 3000 records`);
      await sub.close();
    }
    const grown = openFds() - before;
    assert.ok(
      grown <= MAX_OPEN_READERS + 2,
      `${grown} more open descriptors after reading ${segments} segments`,
    );
    await c.close();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("embedded faults: commits never move backwards, also across a reopen", async () => {
  const dir = await tempDir();
  let c = await open(dir);
  await c.admin.createTopics([topic("t", 1)]);
  await c.publish("t", Array.from({ length: 20 }, (_, i) => ({ key: "k", value: bytes(`v${i}`) })));
  const sub = await c.subscribe({ group: "g", topics: ["t"], fromBeginning: true, onBatch: () => {} });
  await sub.commit("t", 0, "10");
  await sub.commit("t", 0, "4"); // late or stale
  assert.equal((await c.offsets("t", "g"))[0]!.committed, "11");
  await sub.close();
  await c.close();
  c = await open(dir);
  assert.equal((await c.offsets("t", "g"))[0]!.committed, "11");
  await c.close();
  await Deno.remove(dir, { recursive: true });
});
