import assert from "node:assert/strict";
import {
  e2eRatios,
  formatGate,
  GATE_FLOORS_FILE,
  type GateLimit,
  judgeGate,
  ratiosOf,
} from "./bench_gate.ts";

const limits: Record<string, GateLimit> = {
  "sinks: a ÷ bulk": { min: 0.5, measured: "0.8" },
  "e2e: p50 ÷ base": { max: 3, measured: "1.2" },
};

Deno.test("bench gate: a ratio below its floor or above its ceiling fails and says why", () => {
  const verdicts = judgeGate(
    [{ id: "sinks: a ÷ bulk", ratio: 0.4 }, { id: "e2e: p50 ÷ base", ratio: 3.5 }],
    limits,
  );
  assert.deepEqual(verdicts.map((v) => v.ok), [false, false]);
  assert.match(verdicts[0]!.reason!, /0\.40× is below the floor 0\.5×/);
  assert.match(verdicts[1]!.reason!, /3\.50× is above the ceiling 3×/);
  assert.match(formatGate(verdicts), /gate: 0 passed, 2 failed$/);
});

Deno.test("bench gate: within limits passes; a measure without a limit and a limit without a measure fail", () => {
  const verdicts = judgeGate([{ id: "sinks: a ÷ bulk", ratio: 0.5 }, { id: "new: x ÷ y", ratio: 9 }], limits);
  assert.deepEqual(verdicts.map((v) => [v.id, v.ok]), [
    ["sinks: a ÷ bulk", true],
    ["new: x ÷ y", false],
    ["e2e: p50 ÷ base", false],
  ]);
  assert.match(verdicts[1]!.reason!, /no limit/);
  assert.match(verdicts[2]!.reason!, /no run measured it/);
  assert.deepEqual(judgeGate([{ id: "sinks: a ÷ bulk", ratio: NaN }], {}).map((v) => v.ok), [false]);
});

Deno.test("bench gate: ratios come from rows with a baseline, and from e2e figures", () => {
  assert.deepEqual(
    ratiosOf("sinks", [
      { name: "a", rate: 50, unit: "rows/s", baseline: { name: "bulk", rate: 100 } },
      { name: "bulk (baseline)", rate: 100, unit: "rows/s" },
    ]),
    [{ id: "sinks: a ÷ bulk", ratio: 0.5 }],
  );
  const figure = { rate: 1000, rows: 99, missing: 1, p99: 0, max: 0 };
  assert.deepEqual(
    e2eRatios([
      { ...figure, name: "qistream, x", p50: 20 },
      { ...figure, name: "baseline: loop", p50: 10, missing: 0 },
    ]),
    [
      { id: "e2e: p50 latency at 1000/s, qistream, x ÷ baseline: loop", ratio: 2 },
      { id: "e2e: rows delivered at 1000/s, qistream, x ÷ rows published", ratio: 0.99 },
    ],
  );
});

Deno.test("bench gate: every limit in gate_floors.json is a floor or a ceiling and says what was measured", async () => {
  const file = JSON.parse(await Deno.readTextFile(GATE_FLOORS_FILE)) as Record<string, GateLimit>;
  for (const [id, limit] of Object.entries(file)) {
    assert.ok((limit.min === undefined) !== (limit.max === undefined), `${id}: exactly one of min and max`);
    assert.ok(limit.measured.length > 0, `${id}: measured`);
  }
});
