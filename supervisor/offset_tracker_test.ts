import assert from "node:assert/strict";
import { OffsetTracker } from "./offset_tracker.ts";

/** The offsets `from..to` (inclusive) as decimal strings. */
const run = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

Deno.test("offset tracker commits only the contiguous acked prefix", () => {
  const t = new OffsetTracker();
  assert.equal(t.committable(), undefined);
  t.track(run(0, 4));
  t.track(run(5, 9));
  t.track(run(10, 14));
  t.ack("5", "9");
  assert.equal(t.committable(), undefined, "0..4 is unacked");
  t.ack("0", "4");
  assert.equal(t.committable(), "9");
  t.ack("10", "14");
  assert.equal(t.committable(), "14");
});

Deno.test("offset tracker acks pieces of a split range", () => {
  const t = new OffsetTracker();
  t.track(run(100, 107));
  t.ack("104", "107");
  assert.equal(t.committable(), "99");
  t.ack("100", "101");
  assert.equal(t.committable(), "101");
  t.ack("102", "103");
  assert.equal(t.committable(), "107");
  assert.equal(t.pendingRanges, 0);
});

Deno.test("offset tracker skips gaps between delivered runs", () => {
  const t = new OffsetTracker();
  t.track(run(0, 3));
  t.track(run(7, 9)); // 4..6 never delivered (compacted)
  t.ack("7", "9");
  assert.equal(t.committable(), undefined);
  t.ack("0", "3");
  assert.equal(t.committable(), "9");
});

Deno.test("offset tracker: a gap inside a delivered run never holds the commit (track 5,7; ack 5; ack 7)", () => {
  const t = new OffsetTracker();
  t.track(["5", "7"]); // one fetch; 6 is a transaction marker or was compacted away
  t.ack("5", "5");
  assert.equal(t.committable(), "6", "up to the unacked 7: position 7 (6 holds no record)");
  t.ack("7", "7"); // e.g. the other half of a split batch, or a dead-lettered record
  assert.equal(t.committable(), "7", "6 was never delivered, so nothing waits for it");
  assert.equal(t.pendingRanges, 0);
});

Deno.test("offset tracker: batches cut from one gappy run are acked in any order", () => {
  const t = new OffsetTracker();
  // One fetch of a transactional topic: 3 transactions of 4 records, each followed by its commit marker.
  const delivered = ["0", "1", "2", "3", "5", "6", "7", "8", "10", "11", "12", "13"];
  t.track(delivered);
  assert.equal(t.pendingRanges, 3);
  t.ack("10", "13");
  t.ack("0", "3");
  assert.equal(t.committable(), "4");
  t.ack("5", "8");
  assert.equal(t.committable(), "13");
  t.skipTo("14"); // the last commit marker, covered by the fetch
  assert.equal(t.committable(), "14");
  t.skipTo("12"); // not above the highest: ignored
  assert.equal(t.highest, 14n);
});

Deno.test("offset tracker: skipTo past a trailing marker waits for the records before it", () => {
  const t = new OffsetTracker();
  t.track(run(0, 2));
  t.skipTo("3");
  assert.equal(t.committable(), undefined, "0..2 unacked");
  t.ack("0", "2");
  assert.equal(t.committable(), "3");
  assert.throws(() => t.track(["3"]), RangeError, "3 is covered already");
});

Deno.test("offset tracker refuses offsets that do not increase", () => {
  const t = new OffsetTracker();
  t.track(run(5, 9));
  assert.throws(() => t.track(["3", "4"]), RangeError);
  assert.throws(() => t.track(["12", "11"]), RangeError);
});

Deno.test("offset tracker handles 64-bit offsets", () => {
  const t = new OffsetTracker();
  t.track(["9007199254740993", "9007199254740995"]);
  t.ack("9007199254740993", "9007199254740995");
  assert.equal(t.committable(), "9007199254740995");
});
