import assert from "node:assert/strict";
import { z } from "zod";
import { demoTools } from "../tools/_demo_tools.ts";
import { startFakeOpenAI } from "../tests/fakes/openai_fake.ts";
import { openAiChatClient } from "./chat_client.ts";
import { LlmError } from "./llm_error.ts";
import { type LlmExchange, type LlmStepOptions, runLlmStep } from "./llm_step.ts";
import { mcpToolbox } from "./mcp_toolbox.ts";
import { Redactor } from "./redactor.ts";
import { TokenBudget } from "./token_budget.ts";
import { recordingChatClient, replayingChatClient } from "./cassette.ts";

async function withStep<T>(
  script: Parameters<typeof startFakeOpenAI>[0],
  fn: (
    base: Omit<LlmStepOptions<unknown>, "user">,
    audit: LlmExchange[],
    fake: ReturnType<typeof startFakeOpenAI>,
  ) => Promise<T>,
): Promise<T> {
  const fake = startFakeOpenAI(script);
  const written: { value: string }[] = [];
  const toolbox = await mcpToolbox(demoTools(written as never), "test:step", ["demo.*"]);
  const audit: LlmExchange[] = [];
  try {
    return await fn(
      {
        client: openAiChatClient({ baseUrl: fake.baseUrl, model: "m", timeoutMs: 5_000, attempts: 1 }),
        toolbox,
        allow: ["demo.*"],
        system: "sys",
        redactor: new Redactor(["very-secret-value"]),
        audit: (e) => void audit.push(e),
      },
      audit,
      fake,
    );
  } finally {
    await toolbox.close();
    await fake.close();
    assert.deepEqual(written, [], "the write tool was never run");
  }
}

Deno.test("llm step: offers only allowed read-only tools, runs them, answers, audits each exchange", async () => {
  await withStep([
    { toolCalls: [{ name: "demo__echo", arguments: { text: "hello" } }] },
    { content: "It said hello." },
  ], async (base, audit, fake) => {
    const result = await runLlmStep({ ...base, user: "say hello" });
    assert.equal(result.content, "It said hello.");
    assert.deepEqual(fake.requests[0]!.tools!.map((t) => t.function.name), ["demo__echo"]);
    assert.equal(result.toolCalls[0]!.outcome, "ok");
    assert.match(result.toolCalls[0]!.resultHash!, /^sha256:/);
    assert.deepEqual(audit.map((a) => `${a.kind}:${a.outcome}`), [
      "exchange:tool_calls",
      "exchange:ok",
      "run:ok",
    ]);
    assert.match(String(fake.requests[1]!.messages.at(-1)!.content), /"text":"hello"/);
  });
});

Deno.test("llm step: a write tool, an unknown tool and repeats past the breaker are refused; the run ends", async () => {
  await withStep([{
    toolCalls: [
      { name: "demo__write", arguments: { value: "x" } },
      { name: "stream__publish", arguments: {} },
      ...Array.from({ length: 6 }, () => ({ name: "demo__echo", arguments: { text: "again" } })),
    ],
  }], async (base, audit) => {
    await assert.rejects(
      () => runLlmStep({ ...base, user: "go", limits: { maxIdenticalCalls: 2, maxRefusals: 5 } }),
      (e) => e instanceof LlmError && e.reason === "limit_reached",
    );
    const calls = audit.flatMap((a) => a.toolCalls);
    assert.deepEqual(calls.map((c) => c.outcome), [
      "refused",
      "refused",
      "ok",
      "ok",
      "refused",
      "refused",
      "refused",
      "refused",
    ]);
    assert.equal(audit.at(-1)!.outcome, "limit_reached");
  });
});

Deno.test("llm step: max turns and the token budgets end a run that never answers", async () => {
  const loop = (n: number) => ({ toolCalls: [{ name: "demo__echo", arguments: { text: `t${n}` } }] });
  await withStep((_, n) => loop(n), async (base, _audit, fake) => {
    await assert.rejects(
      () => runLlmStep({ ...base, user: "go", limits: { maxTurns: 3 } }),
      (e) => e instanceof LlmError && e.reason === "limit_reached",
    );
    assert.equal(fake.requests.length, 3);
    await assert.rejects(
      () => runLlmStep({ ...base, user: "go", limits: { tokensPerRun: 250 } }),
      (e) => e instanceof LlmError && e.reason === "budget_exhausted",
    );
    assert.equal(fake.requests.length, 6, "120 tokens a turn: the third turn reaches 250");
    const hourly = new TokenBudget(100);
    await runLlmStep({ ...base, user: "go", limits: { maxTurns: 1 }, hourly }).catch(() => {});
    const before = fake.requests.length;
    await assert.rejects(
      () => runLlmStep({ ...base, user: "go", hourly }),
      (e) => e instanceof LlmError && e.reason === "budget_exhausted",
    );
    assert.equal(fake.requests.length, before, "a spent hourly budget makes no request");
  });
});

Deno.test("llm step: structured output is validated, one correction turn, then invalid_output", async () => {
  const schema = z.object({ n: z.number() });
  await withStep([{ content: '{"n": "seven"}' }, { content: '{"n": 7}' }], async (base, _a, fake) => {
    const result = await runLlmStep({ ...base, user: "count", output: { name: "count", schema } });
    assert.deepEqual(result.output, { n: 7 });
    assert.match(String(fake.requests[1]!.messages.at(-1)!.content), /n: Invalid input: expected number/);
    assert.equal((fake.requests[0]!.response_format as { type: string }).type, "json_schema");
  });
  await withStep([{ content: "no json" }], async (base) => {
    await assert.rejects(
      () => runLlmStep({ ...base, user: "count", output: { name: "count", schema } }),
      (e) => e instanceof LlmError && e.reason === "invalid_output",
    );
  });
});

Deno.test("llm step: secrets are redacted from everything the endpoint receives", async () => {
  await withStep([
    { toolCalls: [{ name: "demo__echo", arguments: { text: "very-secret-value" } }] },
    { content: "done" },
  ], async (base, audit, fake) => {
    await runLlmStep({ ...base, user: "my password is very-secret-value" });
    for (const raw of fake.raw) assert.ok(!raw.includes("very-secret-value"), raw);
    assert.ok(!JSON.stringify(audit).includes("very-secret-value"));
  });
});

Deno.test("cassette: a recorded run replays with no endpoint; a drifted request is refused", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    await withStep([
      { toolCalls: [{ name: "demo__echo", arguments: { text: "rec" } }] },
      { content: "recorded answer" },
    ], async (base) => {
      const recorded = await runLlmStep({
        ...base,
        client: recordingChatClient(base.client, path),
        user: "q",
      });
      assert.equal(recorded.content, "recorded answer");
    });
    await withStep([{ content: "the endpoint must not be asked" }], async (base, _a, fake) => {
      const replayed = await runLlmStep({ ...base, client: await replayingChatClient(path), user: "q" });
      assert.equal(replayed.content, "recorded answer");
      assert.equal(replayed.toolCalls[0]!.outcome, "ok");
      assert.equal(fake.requests.length, 0);
      await assert.rejects(
        async () =>
          runLlmStep({ ...base, client: await replayingChatClient(path), user: "another question" }),
        /request 1 differs from the recording \(message 2\)/,
      );
    });
  } finally {
    await Deno.remove(path);
  }
});
