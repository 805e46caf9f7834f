import assert from "node:assert/strict";
import { fileRunJournal } from "./file_run_journal.ts";
import { render, runWorkflow, WorkflowConfig, type WorkflowEnv, WorkflowStepError } from "./workflow.ts";

const workflow = WorkflowConfig.parse({
  steps: [
    {
      id: "look",
      tool: "db.query",
      args: { sql: "SELECT {{input.n}}", params: ["{{input.n}}"] },
      backoffMs: 1,
    },
    { id: "think", llm: { system: "s", prompt: "rows: {{steps.look.rows}}" } },
    {
      id: "out",
      publish: {
        topic: "insights",
        key: "{{input.id}}",
        value: { n: "{{steps.look.rows}}", text: "{{steps.think.content}}" },
      },
    },
  ],
});

function env(dir: string, overrides: Partial<WorkflowEnv> = {}) {
  const seen = { tools: 0, llm: 0, published: [] as unknown[] };
  const e: WorkflowEnv = {
    journal: fileRunJournal(dir),
    signal: new AbortController().signal,
    callTool: (_name, args) => {
      seen.tools++;
      return Promise.resolve({ rows: [{ n: (args.params as number[])[0] }] });
    },
    runLlm: (step) => {
      seen.llm++;
      return Promise.resolve({ content: `told ${step.prompt}`, toolCalls: [], model: "m" });
    },
    publish: (topic, key, value) => {
      seen.published.push({ topic, key, value });
      return Promise.resolve();
    },
    ...overrides,
  };
  return { e, seen };
}

Deno.test("workflow config: a step may only refer to steps before it; ids are unique", () => {
  const bad = WorkflowConfig.safeParse({
    steps: [
      { id: "a", llm: { system: "s", prompt: "{{steps.b.rows}}" } },
      { id: "b", tool: "x", args: {} },
      { id: "b", tool: "y" },
    ],
  });
  assert.equal(bad.success, false);
  const messages = bad.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  assert.deepEqual(messages, [
    'steps.0: refers to step "b", which does not run before it',
    'steps.2.id: duplicate step id "b"',
  ]);
});

Deno.test("render: a whole template keeps the value's type, text templates interpolate, a missing path fails", () => {
  const scope = { input: { n: 3, list: [1, 2] } };
  assert.deepEqual(
    render({ a: "{{input.n}}", b: "n={{input.n}} {{input.list}}", c: ["{{input.list}}"] }, scope),
    {
      a: 3,
      b: "n=3 [1,2]",
      c: [[1, 2]],
    },
  );
  assert.throws(() => render("{{input.missing}}", scope), /\{\{input.missing\}\}: "missing" is not there/);
});

Deno.test("workflow: runs steps in order; a re-run of a finished trigger publishes nothing again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { e, seen } = env(dir);
    const run = await runWorkflow(workflow, "alert-1", { id: "a1", n: 5 }, e);
    assert.deepEqual(seen.published, [{
      topic: "insights",
      key: "a1",
      value: { n: [{ n: 5 }], text: 'told rows: [{"n":5}]' },
    }]);
    assert.equal(run.toolCalls[0]!.tool, "db.query");
    const again = await runWorkflow(workflow, "alert-1", { id: "a1", n: 5 }, e);
    assert.deepEqual(again.resumed, ["look", "think", "out"]);
    assert.equal(seen.published.length, 1);
    assert.deepEqual([seen.tools, seen.llm], [1, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workflow: a crash after a step resumes after it; retriable failures are retried, others are not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let crash = true;
    const { e, seen } = env(dir, {
      runLlm: () => {
        if (crash) return Promise.reject(new Error("worker killed"));
        return Promise.resolve({ content: "ok", toolCalls: [], model: "m" });
      },
    });
    await assert.rejects(() => runWorkflow(workflow, "alert-2", { id: "a2", n: 1 }, e), WorkflowStepError);
    crash = false;
    const run = await runWorkflow(workflow, "alert-2", { id: "a2", n: 1 }, e);
    assert.deepEqual(run.resumed, ["look"]);
    assert.equal(seen.tools, 1, "the finished tool step was not redone");

    let failures = 2;
    const flaky = env(dir, {
      callTool: () =>
        failures-- > 0
          ? Promise.reject(Object.assign(new Error("busy"), { retriable: true }))
          : Promise.resolve({ rows: [] }),
    });
    await runWorkflow(workflow, "alert-3", { id: "a3", n: 1 }, flaky.e);
    assert.equal(failures, -1, "two retries, then success");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workflow: a step that outlives its timeout fails naming the step", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const slow = WorkflowConfig.parse({ steps: [{ id: "wait", tool: "x", timeoutMs: 50, retries: 0 }] });
    const { e } = env(dir, { callTool: () => new Promise(() => {}) });
    await assert.rejects(
      () => runWorkflow(slow, "r", {}, e),
      /workflow step "wait" failed after 1 attempt\(s\): step "wait" timed out after 50 ms/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
