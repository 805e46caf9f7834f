import assert from "node:assert/strict";
import { murmur2, partitionForKey, toPositive } from "./murmur2.ts";

// Vectors from Kafka's own UtilsTest.testMurmur2 (Java client), cross-checked against kafkajs 2.2.4's
// DefaultPartitioner murmur2 (lib/producer/partitioners/default/murmur2.js).
const vectors: Array<[string, number]> = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
  ["foo", 597841616],
  ["", 275646681],
  ["a", -1563381124],
  ["ab", 316155434],
  ["héllo", 614509002],
];

Deno.test("murmur2 matches the Java client's hash for every tail length", () => {
  for (const [key, hash] of vectors) assert.equal(murmur2(key), hash, key);
  assert.equal(murmur2(new TextEncoder().encode("foobar")), -790332482);
});

Deno.test("partitionForKey uses toPositive (sign bit cleared), as kafkajs and Java do", () => {
  assert.equal(toPositive(-790332482), 1357151166);
  assert.equal(partitionForKey("foobar", 12), 6);
  assert.equal(partitionForKey("BTC-USD", 12), 9);
  assert.equal(partitionForKey("ETH-USD", 12), 8);
  assert.equal(partitionForKey("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 12), 5);
  assert.throws(() => partitionForKey("x", 0), RangeError);
});
