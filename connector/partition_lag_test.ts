import assert from "node:assert/strict";
import { nextToConsume, partitionLag } from "./partition_lag.ts";

Deno.test("partitionLag: high minus committed; a never-committed partition counts from its low watermark", () => {
  assert.equal(partitionLag({ partition: 0, low: "0", high: "50", committed: "42" }), 8);
  assert.equal(partitionLag({ partition: 0, low: "5", high: "50" }), 45);
  assert.equal(partitionLag({ partition: 0, low: "0", high: "0" }), 0);
  assert.equal(partitionLag({ partition: 0, low: "0", high: "50", committed: "50" }), 0);
});

Deno.test("nextToConsume: a commit below retention (under the low watermark) starts at the low watermark", () => {
  assert.equal(nextToConsume({ partition: 0, low: "30", high: "50", committed: "12" }), "30");
  assert.equal(nextToConsume({ partition: 0, low: "30", high: "50", committed: "40" }), "40");
  assert.equal(nextToConsume({ partition: 0, low: "30", high: "50" }), "30");
});
