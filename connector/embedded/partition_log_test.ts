import assert from "node:assert/strict";
import { join } from "node:path";
import { OffsetOutOfRangeError, PartitionLog } from "./partition_log.ts";
import { bytes, tempDir, text } from "./_test_helpers.ts";

const rec = (v: string, timestamp = Date.now()) => ({
  key: bytes("k"),
  value: bytes(v),
  headers: {},
  timestamp,
});

async function segmentFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("appends get consecutive offsets, become readable once durable, and survive reopen", async () => {
  const dir = await tempDir();
  const { log } = await PartitionLog.open(dir, { segmentBytes: 1 << 20, fsync: true });
  const [a, b] = await Promise.all([log.append([rec("a"), rec("b")]), log.append([rec("c")])]);
  assert.deepEqual([...a, ...b], [0, 1, 2]);
  assert.equal(log.high, 3);
  assert.deepEqual((await log.read(1, 10, 1 << 20)).map((r) => text(r.value)), ["b", "c"]);
  await log.close();
  const { log: again, report } = await PartitionLog.open(dir, { segmentBytes: 1 << 20, fsync: true });
  assert.deepEqual(report, { segments: 1, records: 3, truncatedBytes: 0 });
  assert.equal((await again.append([rec("d")]))[0], 3);
  await again.flush();
  assert.deepEqual((await again.read(0, 10, 1 << 20)).map((r) => text(r.value)), ["a", "b", "c", "d"]);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a torn last frame is truncated on open and its offset is reused", async () => {
  const dir = await tempDir();
  const { log } = await PartitionLog.open(dir, { segmentBytes: 1 << 20, fsync: true });
  await log.append([rec("one"), rec("two"), rec("three")]);
  await log.close();
  const [segment] = await segmentFiles(dir);
  const path = join(dir, segment!);
  const size = (await Deno.stat(path)).size;
  await Deno.truncate(path, size - 5); // a crash in the middle of writing "three"
  const { log: again, report } = await PartitionLog.open(dir, { segmentBytes: 1 << 20, fsync: true });
  assert.equal(report.records, 2);
  assert.ok(report.truncatedBytes > 0);
  assert.equal(again.high, 2);
  assert.equal((await again.append([rec("three again")]))[0], 2);
  await again.flush();
  assert.deepEqual((await again.read(0, 10, 1 << 20)).map((r) => text(r.value)), [
    "one",
    "two",
    "three again",
  ]);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("garbage appended after the last frame (a torn header) is truncated too", async () => {
  const dir = await tempDir();
  const { log } = await PartitionLog.open(dir, { segmentBytes: 1 << 20, fsync: true });
  await log.append([rec("x")]);
  await log.close();
  const path = join(dir, (await segmentFiles(dir))[0]!);
  const before = (await Deno.stat(path)).size;
  await Deno.writeFile(path, new Uint8Array([0, 0, 0, 200, 1, 2]), { append: true });
  const { log: again, report } = await PartitionLog.open(dir, { segmentBytes: 1 << 20, fsync: true });
  assert.equal(report.truncatedBytes, 6);
  assert.equal((await Deno.stat(path)).size, before);
  assert.equal(again.high, 1);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("segments roll at segment.bytes and reads cross segment boundaries", async () => {
  const dir = await tempDir();
  const { log } = await PartitionLog.open(dir, { segmentBytes: 500, fsync: false });
  const values = Array.from({ length: 40 }, (_, i) => `value-${i}`.padEnd(60, "."));
  await log.append(values.map((v) => rec(v)));
  const files = await segmentFiles(dir);
  assert.ok(files.length > 3, `expected several segments, got ${files}`);
  const read: string[] = [];
  while (read.length < 40) {
    read.push(...(await log.read(read.length, 1000, 1 << 20)).map((r) => text(r.value)!));
  }
  assert.deepEqual(read, values);
  await log.close();
  const { log: again } = await PartitionLog.open(dir, { segmentBytes: 500, fsync: false });
  assert.equal(again.high, 40);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("retention by bytes deletes whole old segments and moves the low offset", async () => {
  const dir = await tempDir();
  const { log } = await PartitionLog.open(dir, { segmentBytes: 1000, fsync: false });
  await log.append(Array.from({ length: 100 }, (_, i) => rec(`v${i}`.padEnd(80, "x"))));
  const total = log.size;
  assert.equal(log.low, 0);
  const deleted = await log.applyRetention(-1, 2500);
  assert.ok(deleted > 0);
  assert.ok(log.size <= 2500 + 1000, `size ${log.size} of ${total}`);
  assert.ok(log.low > 0);
  assert.equal(log.high, 100);
  await assert.rejects(log.read(0, 10, 1 << 20), OffsetOutOfRangeError);
  assert.equal(text((await log.read(log.low, 1, 1 << 20))[0]!.value), `v${log.low}`.padEnd(80, "x"));
  await log.close();
  const { log: again } = await PartitionLog.open(dir, { segmentBytes: 1000, fsync: false });
  assert.equal(again.low, log.low);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("retention by time deletes expired segments, including a rolled active one", async () => {
  const dir = await tempDir();
  const { log } = await PartitionLog.open(dir, { segmentBytes: 1000, fsync: false });
  const old = Date.now() - 3_600_000;
  await log.append(Array.from({ length: 30 }, (_, i) => rec(`old${i}`.padEnd(80), old)));
  await log.append(Array.from({ length: 30 }, (_, i) => rec(`new${i}`.padEnd(80))));
  await log.applyRetention(60_000, -1);
  assert.ok(log.low > 0 && log.low <= 30, `low ${log.low}`);
  const first = await log.read(log.low, 1, 1 << 20);
  assert.ok(text(first[0]!.value)!.startsWith(log.low < 30 ? "old" : "new"));
  // Everything expires: the active segment is rolled and deleted, the partition is empty but keeps its offsets.
  await log.applyRetention(60_000, -1, Date.now() + 3_600_000);
  assert.equal(log.low, 60);
  assert.equal(log.high, 60);
  assert.equal((await log.append([rec("after")]))[0], 60);
  await log.close();
  const { log: again } = await PartitionLog.open(dir, { segmentBytes: 1000, fsync: false });
  assert.equal(again.low, 60);
  assert.equal(again.high, 61);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("waitFor resolves when a later append becomes durable", async () => {
  const dir = await tempDir();
  const { log } = await PartitionLog.open(dir, { segmentBytes: 1 << 20, fsync: true });
  const ctl = new AbortController();
  let woke = false;
  const waiting = log.waitFor(0, ctl.signal).then(() => woke = true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(woke, false);
  await log.append([rec("z")]);
  await waiting;
  assert.equal(woke, true);
  await log.close();
  await Deno.remove(dir, { recursive: true });
});
