import assert from "node:assert/strict";
import { citedNumbers, findEvidence } from "./evidence.ts";
import type { ToolCallRecord } from "./tool_call_record.ts";

const call: ToolCallRecord = {
  id: "c1",
  tool: "postgres.query",
  arguments: { sql: "SELECT count(*) AS n, max(price) AS high FROM t" },
  outcome: "ok",
  result: { rows: [{ n: 1234, high: "101.2345" }] },
  resultHash: "sha256:ab",
  durationMs: 1,
};

Deno.test("citedNumbers: numbers, not names like BTC-USD, ETH2 or 1m", () => {
  assert.deepEqual(citedNumbers("BTC-USD rose to 101.23 on 1,234 ticks; ETH2 and 1m bars; -3.5"), [
    "101.23",
    "1234",
    "-3.5",
  ]);
});

Deno.test("findEvidence: each cited number is tied to the call whose result holds it, at the cited precision", () => {
  const { evidence, unsupported } = findEvidence("1,234 ticks, high 101.23, and 77 made up", [call], {
    value: { threshold: 99 },
    hash: "sha256:in",
  });
  assert.deepEqual(evidence.map((e) => [e.value, e.tool, e.query, e.resultHash]), [
    ["1234", "postgres.query", "SELECT count(*) AS n, max(price) AS high FROM t", "sha256:ab"],
    ["101.23", "postgres.query", "SELECT count(*) AS n, max(price) AS high FROM t", "sha256:ab"],
  ]);
  assert.deepEqual(unsupported, ["77"]);
  assert.deepEqual(
    findEvidence("above 99", [call], { value: { threshold: 99 }, hash: "sha256:in" }).evidence[0]!.tool,
    "input",
  );
});

Deno.test("findEvidence: the author's prompt text is a source of its own numbers", () => {
  const { evidence, unsupported } = findEvidence("in the 5 minutes before, 1234 ticks", [call], [
    { value: "ticks in the 5 minutes before the alert", hash: "sha256:p", tool: "prompt" },
  ]);
  assert.deepEqual(evidence.map((e) => [e.value, e.tool]), [["5", "prompt"], ["1234", "postgres.query"]]);
  assert.deepEqual(unsupported, []);
});
