import assert from "node:assert/strict";
import { startFakeOpenAI } from "../tests/fakes/openai_fake.ts";
import { openAiChatClient } from "./chat_client.ts";
import { LlmError } from "./llm_error.ts";

const ask = [{ role: "user" as const, content: "hi" }];

function client(baseUrl: string, extra: Partial<Parameters<typeof openAiChatClient>[0]> = {}) {
  return openAiChatClient({ baseUrl, model: "m", timeoutMs: 5_000, initialBackoffMs: 10, ...extra });
}

Deno.test("chat client: streamed tool-call deltas are assembled by index, usage is read", async () => {
  const fake = startFakeOpenAI([{
    toolCalls: [
      { name: "postgres__query", arguments: { sql: "SELECT 1 AS one, 'long enough to split' AS s" } },
      { name: "postgres__describe", arguments: {} },
    ],
    content: "let me look",
    usage: { prompt: 7, completion: 3 },
  }]);
  try {
    const deltas: string[] = [];
    const reply = await client(fake.baseUrl).complete({ messages: ask, onText: (d) => deltas.push(d) });
    assert.deepEqual(reply.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]), [
      ["postgres__query", { sql: "SELECT 1 AS one, 'long enough to split' AS s" }],
      ["postgres__describe", {}],
    ]);
    assert.equal(reply.content, "let me look");
    assert.equal(deltas.join(""), "let me look");
    assert.deepEqual(reply.usage, { prompt: 7, completion: 3 });
    assert.equal(reply.finishReason, "tool_calls");
    assert.equal(fake.requests[0]!.stream, true);
  } finally {
    await fake.close();
  }
});

Deno.test("chat client: a 429 is retried after its Retry-After, a 500 with backoff", async () => {
  const fake = startFakeOpenAI([{ status: 429, retryAfterSeconds: 1 }, { status: 500 }, { content: "done" }]);
  try {
    const started = Date.now();
    const reply = await client(fake.baseUrl).complete({ messages: ask });
    assert.equal(reply.content, "done");
    assert.equal(reply.attempts, 3);
    assert.ok(Date.now() - started >= 1_000, "waited the second the endpoint asked for");
  } finally {
    await fake.close();
  }
});

Deno.test("chat client: malformed bodies are retried, then fail as malformed", async () => {
  const fake = startFakeOpenAI([{ malformed: true }]);
  try {
    await assert.rejects(
      () => client(fake.baseUrl, { attempts: 2 }).complete({ messages: ask }),
      (e) => e instanceof LlmError && e.reason === "malformed" && e.retriable,
    );
    assert.equal(fake.requests.length, 2);
  } finally {
    await fake.close();
  }
});

Deno.test("chat client: a slow endpoint times out per request", async () => {
  const fake = startFakeOpenAI([{ content: "late", delayMs: 3_000 }]);
  try {
    await assert.rejects(
      () => client(fake.baseUrl, { timeoutMs: 300, attempts: 1 }).complete({ messages: ask }),
      (e) => e instanceof LlmError && e.reason === "timeout",
    );
  } finally {
    await fake.close();
  }
});

Deno.test("chat client: the breaker opens after consecutive failures and stops calling the endpoint", async () => {
  const fake = startFakeOpenAI([{ status: 500 }]);
  try {
    const llm = client(fake.baseUrl, { attempts: 1, breaker: { failureThreshold: 2, openMs: 60_000 } });
    for (let i = 0; i < 2; i++) await assert.rejects(() => llm.complete({ messages: ask }), /500/);
    await assert.rejects(
      () => llm.complete({ messages: ask }),
      (e) => e instanceof LlmError && e.reason === "circuit_open",
    );
    assert.equal(fake.requests.length, 2, "the open circuit made no request");
  } finally {
    await fake.close();
  }
});

Deno.test("chat client: a 401 is not retried", async () => {
  const fake = startFakeOpenAI([{ content: "x" }]);
  try {
    // The fake has no 401 reply: an unknown path answers 404, a non-retriable bad request.
    const llm = client(fake.baseUrl.replace(/\/v1$/, "/nope"));
    await assert.rejects(() => llm.complete({ messages: ask }), (e) => e instanceof LlmError && !e.retriable);
    assert.equal(fake.requests.length, 0);
  } finally {
    await fake.close();
  }
});
