import assert from "node:assert/strict";
import { OffsetTracker } from "./offset_tracker.ts";

Deno.test("offset tracker commits only the contiguous acked prefix", () => {
  const t = new OffsetTracker();
  assert.equal(t.committable(), undefined);
  t.track("0", "4");
  t.track("5", "9");
  t.track("10", "14");
  t.ack("5", "9");
  assert.equal(t.committable(), undefined, "0..4 is unacked");
  t.ack("0", "4");
  assert.equal(t.committable(), "9");
  t.ack("10", "14");
  assert.equal(t.committable(), "14");
});

Deno.test("offset tracker acks pieces of a split range", () => {
  const t = new OffsetTracker();
  t.track("100", "107");
  t.ack("104", "107");
  assert.equal(t.committable(), "99");
  t.ack("100", "101");
  assert.equal(t.committable(), "101");
  t.ack("102", "103");
  assert.equal(t.committable(), "107");
  assert.equal(t.pendingRanges, 0);
});

Deno.test("offset tracker skips gaps between delivered ranges", () => {
  const t = new OffsetTracker();
  t.track("0", "3");
  t.track("7", "9"); // 4..6 never delivered (compacted)
  t.ack("7", "9");
  assert.equal(t.committable(), undefined);
  t.ack("0", "3");
  assert.equal(t.committable(), "9");
});

Deno.test("offset tracker refuses out-of-order or reversed ranges", () => {
  const t = new OffsetTracker();
  t.track("5", "9");
  assert.throws(() => t.track("3", "4"), RangeError);
  assert.throws(() => t.track("12", "11"), RangeError);
});

Deno.test("offset tracker handles 64-bit offsets", () => {
  const t = new OffsetTracker();
  t.track("9007199254740993", "9007199254740995");
  t.ack("9007199254740993", "9007199254740995");
  assert.equal(t.committable(), "9007199254740995");
});
