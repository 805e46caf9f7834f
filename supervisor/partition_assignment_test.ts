import assert from "node:assert/strict";
import { assignPartition } from "./partition_assignment.ts";

Deno.test("partitions of a topic spread evenly and stably over instances", () => {
  const instances = ["sink-0", "sink-1", "sink-2"];
  const owners = Array.from(
    { length: 12 },
    (_, p) => assignPartition({ topic: "ticks", partition: p }, instances),
  );
  for (const id of instances) assert.equal(owners.filter((o) => o === id).length, 4);
  const again = Array.from(
    { length: 12 },
    (_, p) => assignPartition({ topic: "ticks", partition: p }, instances),
  );
  assert.deepEqual(again, owners);
});

Deno.test("assignment refuses an empty instance list", () => {
  assert.throws(() => assignPartition({ topic: "t", partition: 0 }, []), RangeError);
});
