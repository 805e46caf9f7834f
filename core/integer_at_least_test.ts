import assert from "node:assert/strict";
import { integerAtLeast } from "./integer_at_least.ts";

Deno.test("integerAtLeast returns integers of at least min and names the setting of anything else", () => {
  assert.equal(integerAtLeast("start actor", "creditWindow", 4), 4);
  assert.equal(integerAtLeast("start actor", "mailboxCapacity", 0, 0), 0);
  assert.throws(
    () => integerAtLeast("create a dispatcher", "maxAttempts", 0),
    {
      name: "RangeError",
      message: "Cannot create a dispatcher: maxAttempts must be an integer >= 1, current value is 0",
    },
  );
  assert.throws(() => integerAtLeast("x", "batchSize", 1.5), RangeError);
  assert.throws(() => integerAtLeast("x", "batchSize", Number.NaN), RangeError);
  assert.throws(() => integerAtLeast("x", "maxBuffered", 10, 500), /maxBuffered must be an integer >= 500/);
});
