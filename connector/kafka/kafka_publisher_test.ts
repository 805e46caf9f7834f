import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { PartitionMetadata } from "kafkajs";
import { JAVA_MURMUR2_VECTORS } from "../contract/mod.ts";
import { recordingPartitioner } from "./kafka_publisher.ts";

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  }));

Deno.test("kafkajs 2's default partitioner, as we use it, matches the Java client's murmur2 placement", () => {
  const chosen = new WeakMap<object, number>();
  const partition = recordingPartitioner(chosen)();
  for (const partitions of [1, 3, 12, 100]) {
    for (const [key, javaHash] of JAVA_MURMUR2_VECTORS) {
      const expected = (javaHash & 0x7fffffff) % partitions;
      const asString = { key, value: null };
      const asBuffer = { key: Buffer.from(key), value: null };
      assert.equal(
        partition({ topic: "t", partitionMetadata: metadata(partitions), message: asString }),
        expected,
      );
      assert.equal(
        partition({ topic: "t", partitionMetadata: metadata(partitions), message: asBuffer }),
        expected,
      );
      assert.equal(chosen.get(asString), expected, "the chosen partition is recorded per message");
    }
  }
});

Deno.test("the recording partitioner keeps an explicit partition and spreads null keys", () => {
  const chosen = new WeakMap<object, number>();
  const partition = recordingPartitioner(chosen)();
  const pinned = { key: "21", value: null, partition: 5 };
  assert.equal(partition({ topic: "t", partitionMetadata: metadata(12), message: pinned }), 5);
  assert.equal(chosen.get(pinned), 5);
  const seen = new Set<number>();
  for (let i = 0; i < 24; i++) {
    seen.add(partition({ topic: "t", partitionMetadata: metadata(3), message: { key: null, value: null } }));
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2]);
});
