import assert from "node:assert/strict";
import { failureDecision, type PoisonPolicy } from "./poison_policy.ts";

const policy: PoisonPolicy = { maxAttempts: 3, backoff: { minMs: 20, maxMs: 100 } };

Deno.test("a failed batch is retried with a doubling, capped backoff within its budget", () => {
  const delays = [1, 2, 3, 4].map((attempts) =>
    failureDecision({ records: [1, 2], attempts, budget: 5 }, policy)
  );
  assert.deepEqual(delays.map((d) => d.action === "retry" && d.delayMs), [20, 40, 80, 100]);
});

Deno.test("one poison record among 16 is isolated in bounded tries; batch-mates processed once", () => {
  const poison = 11;
  const processed: number[] = [];
  const dead: { record: number; tries: number }[] = [];
  let tries = 0;
  let queue = [{ records: Array.from({ length: 16 }, (_, i) => i), attempts: 0, budget: policy.maxAttempts }];
  while (queue.length > 0) {
    const batch = queue.shift()!;
    tries++;
    if (!batch.records.includes(poison)) {
      processed.push(...batch.records);
      continue;
    }
    batch.attempts++;
    const d = failureDecision(batch, policy);
    if (d.action === "retry") queue = [batch, ...queue];
    else if (d.action === "dead_letter") dead.push({ record: d.record, tries: batch.attempts });
    else queue = [...d.parts.map((p) => ({ ...p, attempts: batch.attempts })), ...queue];
  }
  assert.deepEqual(
    processed.sort((a, b) => a - b),
    Array.from({ length: 16 }, (_, i) => i).filter((i) => i !== poison),
  );
  assert.deepEqual(dead.map((d) => d.record), [poison]);
  assert.equal(dead[0]!.tries, 3 + 3 + 3, "3 tries whole, one each at 8, 4 and 2 records, 3 alone");
  assert.equal(tries, 9 + 4, "plus one try of each clean half (8, 4, 2 and 1 records)");
});

Deno.test("a failed single record is dead-lettered once out of tries", () => {
  assert.deepEqual(failureDecision({ records: ["r"], attempts: 3, budget: 3 }, policy), {
    action: "dead_letter",
    record: "r",
  });
  assert.throws(() => failureDecision({ records: [], attempts: 1, budget: 1 }, policy), RangeError);
});

Deno.test("a non-retriable failure splits at once, and its single record is dead-lettered without retries", () => {
  const batch = { records: [1, 2, 3, 4], attempts: 1, budget: 3, retriable: false };
  const split = failureDecision(batch, policy);
  assert.equal(split.action, "split");
  const single = failureDecision({ records: [3], attempts: 1, budget: 4, retriable: false }, policy);
  assert.deepEqual(single, { action: "dead_letter", record: 3 });
  assert.equal(failureDecision({ ...batch, retriable: true }, policy).action, "retry");
});
