import assert from "node:assert/strict";
import { waitFor } from "./wait_for.ts";

Deno.test("waitFor returns once the condition holds, and fails naming what it waited for", async () => {
  let n = 0;
  await waitFor(() => ++n >= 3, "three checks", { intervalMs: 1 });
  assert.equal(n, 3);
  await waitFor(() => Promise.resolve(true), "an async check");
  await assert.rejects(
    waitFor(() => false, () => `nothing (last seen ${n})`, { timeoutMs: 30, intervalMs: 5 }),
    /Timed out after 30 ms waiting for nothing \(last seen 3\)/,
  );
});
