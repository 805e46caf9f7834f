/**
 * A fake OpenAI-compatible chat-completions server on 127.0.0.1, port 0, speaking the documented wire format
 * (`POST /v1/chat/completions`): `tools` in, `tool_calls` out, plain JSON or streamed SSE chunks
 * (`chat.completion.chunk` with `delta.tool_calls[].index` fragments, a final usage chunk, `data: [DONE]`),
 * `usage`, and the failures a real endpoint shows: 429 with `Retry-After`, 500, malformed bodies, slow
 * responses. Each test scripts it: a list of replies taken one per request, or a function of the request.
 * Every request body is kept (`requests`), so a test can assert what left the node. For tests only.
 *
 * @module
 */

/** One tool call the fake's model makes. */
export interface FakeToolCall {
  name: string;
  /** The arguments, as an object (sent JSON-encoded, as the API does). */
  arguments: Record<string, unknown>;
}

/** What the fake answers to one request. */
export type FakeReply =
  | { content: string; toolCalls?: undefined; usage?: FakeUsage; delayMs?: number }
  | { toolCalls: FakeToolCall[]; content?: string; usage?: FakeUsage; delayMs?: number }
  | { status: 429; retryAfterSeconds?: number; delayMs?: number }
  | { status: 500 | 502 | 503; delayMs?: number }
  | { malformed: true; delayMs?: number };

/** Token usage the fake reports; default 100 prompt / 20 completion tokens. */
export interface FakeUsage {
  prompt: number;
  completion: number;
}

/** A chat request as the fake received it. */
export interface FakeChatRequest {
  model: string;
  messages: Array<Record<string, unknown> & { role: string; content?: unknown }>;
  tools?: Array<{ type: "function"; function: { name: string; description?: string; parameters?: unknown } }>;
  stream?: boolean;
  response_format?: unknown;
  [key: string]: unknown;
}

/** The script: replies in order (the last repeats), or a function of the request and its 0-based number. */
export type FakeScript = FakeReply[] | ((request: FakeChatRequest, n: number) => FakeReply);

/** The running fake. */
export interface FakeOpenAI {
  /** Base URL including `/v1`, as `OPENAI_BASE_URL` expects. */
  readonly baseUrl: string;
  /** Bodies of every chat request received, in order. */
  readonly requests: FakeChatRequest[];
  /** Raw request texts (headers and body), for "this never left the node" assertions. */
  readonly raw: string[];
  /** Replaces the script (and restarts its count). */
  script(script: FakeScript): void;
  /** Resolves when `predicate` holds, rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the fake.
 *
 * @param script the replies; default: one plain answer "ok"
 * @returns the running fake
 *
 * @example
 * ```ts
 * const fake = startFakeOpenAI([
 *   { toolCalls: [{ name: "postgres__query", arguments: { sql: "SELECT 1" } }] },
 *   { content: "The answer is 1." },
 * ]);
 * ```
 */
export function startFakeOpenAI(script: FakeScript = [{ content: "ok" }]): FakeOpenAI {
  let current = script;
  let count = 0;
  const requests: FakeChatRequest[] = [];
  const raw: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const text = await req.text();
    raw.push(
      `${req.method} ${url.pathname}\n${
        [...req.headers].map(([k, v]) => `${k}: ${v}`).join("\n")
      }\n\n${text}`,
    );
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      return Response.json(
        { error: { message: `no route ${url.pathname}`, type: "invalid_request_error" } },
        {
          status: 404,
        },
      );
    }
    let body: FakeChatRequest;
    try {
      body = JSON.parse(text);
    } catch {
      return Response.json({ error: { message: "body is not JSON", type: "invalid_request_error" } }, {
        status: 400,
      });
    }
    requests.push(body);
    const n = count++;
    const reply = typeof current === "function"
      ? current(body, n)
      : current[Math.min(n, current.length - 1)] ?? { content: "ok" };
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if ("status" in reply) {
      const headers: Record<string, string> = {};
      if (reply.status === 429 && reply.retryAfterSeconds !== undefined) {
        headers["retry-after"] = String(reply.retryAfterSeconds);
      }
      const type = reply.status === 429 ? "rate_limit_exceeded" : "server_error";
      return Response.json({ error: { message: `fake ${reply.status}`, type, code: type } }, {
        status: reply.status,
        headers,
      });
    }
    if ("malformed" in reply) {
      return new Response(body.stream ? "data: {not json\n\n" : '{"choices": [', {
        headers: { "content-type": body.stream ? "text/event-stream" : "application/json" },
      });
    }
    return body.stream ? streamed(body, reply, n) : Response.json(completion(body, reply, n));
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    requests,
    raw,
    script(next) {
      current = next;
      count = 0;
    },
    async waitFor(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`fake OpenAI: condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await server.shutdown();
    },
  };
}

type Answer = Extract<FakeReply, { content: string } | { toolCalls: FakeToolCall[] }>;

function usageOf(reply: Answer) {
  const u = reply.usage ?? { prompt: 100, completion: 20 };
  return { prompt_tokens: u.prompt, completion_tokens: u.completion, total_tokens: u.prompt + u.completion };
}

function toolCallsOf(reply: Answer, n: number) {
  return (reply.toolCalls ?? []).map((call, i) => ({
    id: `call_${n}_${i}`,
    type: "function" as const,
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
}

function completion(body: FakeChatRequest, reply: Answer, n: number) {
  const calls = toolCallsOf(reply, n);
  return {
    id: `chatcmpl-fake-${n}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: reply.content ?? null,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      },
      finish_reason: calls.length > 0 ? "tool_calls" : "stop",
      logprobs: null,
    }],
    usage: usageOf(reply),
  };
}

/** SSE chunks as the API streams them: content in pieces, each tool call's arguments split across deltas. */
function streamed(body: FakeChatRequest, reply: Answer, n: number): Response {
  const base = { id: `chatcmpl-fake-${n}`, object: "chat.completion.chunk", created: 0, model: body.model };
  const chunks: unknown[] = [{
    ...base,
    choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }],
  }];
  const content = reply.content ?? "";
  for (let i = 0; i < content.length; i += 16) {
    chunks.push({
      ...base,
      choices: [{ index: 0, delta: { content: content.slice(i, i + 16) }, finish_reason: null }],
    });
  }
  toolCallsOf(reply, n).forEach((call, index) => {
    const args = call.function.arguments;
    const half = Math.ceil(args.length / 2);
    chunks.push({
      ...base,
      choices: [{
        index: 0,
        delta: {
          tool_calls: [{
            index,
            id: call.id,
            type: "function",
            function: { name: call.function.name, arguments: "" },
          }],
        },
        finish_reason: null,
      }],
    });
    for (const part of [args.slice(0, half), args.slice(half)]) {
      chunks.push({
        ...base,
        choices: [{
          index: 0,
          delta: { tool_calls: [{ index, function: { arguments: part } }] },
          finish_reason: null,
        }],
      });
    }
  });
  const finish = (reply.toolCalls?.length ?? 0) > 0 ? "tool_calls" : "stop";
  chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
  if (includeUsage) chunks.push({ ...base, choices: [], usage: usageOf(reply) });
  const text = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
  return new Response(text, { headers: { "content-type": "text/event-stream" } });
}
