import assert from "node:assert/strict";
import { crc32 } from "./crc32.ts";
import { decodeFrames, encodeFrame, scanFrames, type StoredRecord } from "./segment_frame.ts";

const records: StoredRecord[] = [
  {
    offset: 0,
    timestamp: 1_700_000_000_123,
    key: new Uint8Array([1, 2]),
    value: new Uint8Array([3]),
    headers: {},
  },
  { offset: 1, timestamp: 5, key: null, value: null, headers: { "correlation-id": "c-1", schema: "é" } },
  {
    offset: 2 ** 40 + 7,
    timestamp: 9,
    key: new Uint8Array(),
    value: new Uint8Array(300).fill(7),
    headers: {},
  },
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

Deno.test("crc32 gives the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("frames round-trip keys, values, nulls, headers and 64-bit offsets", () => {
  const data = concat(records.map(encodeFrame));
  assert.deepEqual(decodeFrames(data), records);
  const scan = scanFrames(data);
  assert.equal(scan.validLength, data.length);
  assert.deepEqual(scan.offsets, [0, 1, 2 ** 40 + 7]);
  assert.equal(scan.maxTimestamp, 1_700_000_000_123);
});

Deno.test("scanFrames stops at a torn or corrupted frame", () => {
  const frames = records.map(encodeFrame);
  const whole = concat(frames);
  const firstTwo = frames[0]!.length + frames[1]!.length;
  assert.equal(scanFrames(whole.subarray(0, whole.length - 1)).validLength, firstTwo);
  assert.equal(scanFrames(whole.subarray(0, firstTwo + 3)).validLength, firstTwo);
  const flipped = whole.slice();
  flipped[frames[0]!.length + 20]! ^= 0xff;
  assert.equal(scanFrames(flipped).validLength, frames[0]!.length);
  assert.deepEqual(scanFrames(flipped).offsets, [0]);
});
