import assert from "node:assert/strict";
import { isEnvironmentFailure } from "./crash_blame.ts";

Deno.test("crash blame: memory and file-descriptor exhaustion are the environment's, other errors the batch's", () => {
  assert.ok(isEnvironmentFailure({ name: "RangeError", message: "Array buffer allocation failed" }));
  assert.ok(isEnvironmentFailure({ name: "Error", message: "Cannot allocate memory (os error 12)" }));
  assert.ok(isEnvironmentFailure({ name: "Error", message: "Too many open files (os error 24)" }));
  assert.ok(isEnvironmentFailure({ name: "Error", message: "JavaScript heap out of memory" }));
  assert.equal(isEnvironmentFailure({ name: "RangeError", message: "poison record at offset 7" }), false);
  assert.equal(isEnvironmentFailure({ name: "TypeError", message: "memory is not a function" }), false);
});
