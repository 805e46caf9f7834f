/**
 * The port to an LLM: one chat completion with tools ({@linkcode ChatClient}), and its implementation over any
 * OpenAI-compatible endpoint with the `openai` package ({@linkcode openAiChatClient}). Requests are always
 * streamed (`stream_options.include_usage`), tool-call deltas assembled by index; each request has a timeout;
 * 429 and 5xx (and timeouts, dropped connections, malformed bodies) are retried with backoff and jitter,
 * honouring `Retry-After`; a circuit breaker stops calling an endpoint that keeps failing.
 *
 * @module
 */
import OpenAI from "openai";
import { CircuitBreaker, CircuitOpenError } from "../actors/shared/circuit_breaker.ts";
import { retry } from "../actors/shared/retry.ts";
import { LlmError } from "./llm_error.ts";
import type { LlmMetrics } from "./llm_metrics.ts";

/** A chat message in the OpenAI wire format. */
export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** A tool offered to the model (OpenAI `function` tool). */
export interface ChatTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** One tool call the model asked for. */
export interface ChatToolCall {
  id: string;
  name: string;
  /** The arguments as the model wrote them (JSON text, not yet parsed). */
  arguments: string;
}

/** One request. */
export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ChatTool[];
  /** Ask for JSON matching this schema (`response_format: json_schema`). */
  responseFormat?: { name: string; schema: Record<string, unknown> };
  /** Called with each piece of answer text as it streams in. */
  onText?: (delta: string) => void;
  signal?: AbortSignal;
}

/** The model's reply. */
export interface ChatResponse {
  content: string;
  toolCalls: ChatToolCall[];
  usage: { prompt: number; completion: number };
  model: string;
  finishReason: string;
  /** Attempts it took (1 when the first succeeded). */
  attempts: number;
}

/** Anything that answers chat requests: the real client, a cassette player, a test double. */
export interface ChatClient {
  /** The model asked for. */
  readonly model: string;
  /**
   * One completion.
   * @throws {LlmError} with a `reason` when the endpoint fails for good
   */
  complete(request: ChatRequest): Promise<ChatResponse>;
}

/** Options of {@linkcode openAiChatClient}. */
export interface OpenAiChatOptions {
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Per request (each attempt). */
  timeoutMs: number;
  /** Attempts per request, including the first; default 4. */
  attempts?: number;
  /** Backoff of the retries. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest `Retry-After` honoured; longer asks fail the request (retriable). Default 60 000. */
  maxRetryAfterMs?: number;
  /** Consecutive failed requests that open the circuit, and how long it stays open. */
  breaker?: { failureThreshold: number; openMs: number };
  metrics?: LlmMetrics;
}

/**
 * A {@linkcode ChatClient} over an OpenAI-compatible endpoint.
 *
 * @param options endpoint, model, timeout, retries and breaker
 * @returns the client
 *
 * @example
 * ```ts
 * const llm = openAiChatClient({ baseUrl: "https://api.openai.com/v1", apiKey, model: "gpt-4o-mini", timeoutMs: 60_000 });
 * const reply = await llm.complete({ messages: [{ role: "user", content: "hi" }] });
 * ```
 */
export function openAiChatClient(options: OpenAiChatOptions): ChatClient {
  const sdk = new OpenAI({
    apiKey: options.apiKey || "no-key",
    baseURL: options.baseUrl,
    maxRetries: 0,
    timeout: options.timeoutMs,
  });
  const breaker = new CircuitBreaker({
    name: `llm ${new URL(options.baseUrl).host}`,
    failureThreshold: options.breaker?.failureThreshold ?? 5,
    openMs: options.breaker?.openMs ?? 30_000,
    isFailure: (e) => e instanceof LlmError && e.retriable,
  });
  const metrics = options.metrics;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  return {
    model: options.model,
    async complete(request) {
      let attempts = 0;
      return await retry(async () => {
        attempts++;
        const started = performance.now();
        try {
          const reply = await breaker.call(() =>
            once(sdk, options, request).catch((error) => {
              throw toLlmError(error, request.signal);
            })
          );
          metrics?.request(options.model, "ok", (performance.now() - started) / 1000);
          metrics?.tokens("prompt", reply.usage.prompt);
          metrics?.tokens("completion", reply.usage.completion);
          return { ...reply, attempts };
        } catch (error) {
          const e = error instanceof CircuitOpenError
            ? new LlmError("circuit_open", error.message, { cause: error, retryAfterMs: error.retryAfterMs })
            : toLlmError(error, request.signal);
          metrics?.request(options.model, "error", (performance.now() - started) / 1000);
          metrics?.error(e.reason);
          if (e.retryAfterMs !== undefined && e.retryAfterMs > maxRetryAfterMs) {
            throw new LlmError(
              e.reason,
              `${e.message} (asked to wait ${e.retryAfterMs} ms, more than we wait)`,
              {
                cause: e,
              },
            );
          }
          throw e;
        }
      }, {
        attempts: options.attempts ?? 4,
        initialMs: options.initialBackoffMs ?? 500,
        maxMs: options.maxBackoffMs ?? 10_000,
        jitter: 0.3,
        signal: request.signal,
      });
    },
  };
}

async function once(
  sdk: OpenAI,
  options: OpenAiChatOptions,
  request: ChatRequest,
): Promise<Omit<ChatResponse, "attempts">> {
  const stream = await sdk.chat.completions.create({
    model: options.model,
    messages: request.messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(request.tools && request.tools.length > 0
      ? {
        tools: request.tools.map((t) => ({
          type: "function" as const,
          function: { name: t.name, description: t.description, parameters: t.parameters },
        })),
      }
      : {}),
    ...(request.responseFormat
      ? {
        response_format: {
          type: "json_schema" as const,
          json_schema: {
            name: request.responseFormat.name,
            schema: request.responseFormat.schema,
            strict: true,
          },
        },
      }
      : {}),
  }, { signal: request.signal, timeout: options.timeoutMs });
  let content = "";
  let model = options.model;
  let finishReason = "";
  let usage = { prompt: 0, completion: 0 };
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  for await (const chunk of stream) {
    if (typeof chunk !== "object" || chunk === null || !Array.isArray(chunk.choices)) {
      throw new LlmError("malformed", "the endpoint streamed a chunk without choices");
    }
    if (chunk.model) model = chunk.model;
    if (chunk.usage) {
      usage = { prompt: chunk.usage.prompt_tokens ?? 0, completion: chunk.usage.completion_tokens ?? 0 };
    }
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.finish_reason) finishReason = choice.finish_reason;
    const delta = choice.delta ?? {};
    if (typeof delta.content === "string" && delta.content !== "") {
      content += delta.content;
      request.onText?.(delta.content);
    }
    for (const part of delta.tool_calls ?? []) {
      const slot = calls[part.index] ??= { id: "", name: "", arguments: "" };
      if (part.id) slot.id = part.id;
      if (part.function?.name) slot.name += part.function.name;
      if (part.function?.arguments) slot.arguments += part.function.arguments;
    }
  }
  if (finishReason === "") throw new LlmError("malformed", "the stream ended without a finish_reason");
  return {
    content,
    toolCalls: calls.filter((c) => c !== undefined).map((c, i) => ({ ...c, id: c.id || `call_${i}` })),
    usage,
    model,
    finishReason,
  };
}

/** Maps what the SDK throws to an {@linkcode LlmError}. */
function toLlmError(error: unknown, signal?: AbortSignal): LlmError {
  if (error instanceof LlmError) return error;
  if (signal?.aborted) return new LlmError("timeout", "the request was aborted", { cause: error });
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new LlmError("timeout", "the LLM endpoint did not answer in time", { cause: error });
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    const status = error.status;
    const retryAfterMs = retryAfter(error.headers);
    const detail = `LLM endpoint answered ${status}: ${error.message}`;
    if (status === 429) return new LlmError("rate_limited", detail, { cause: error, status, retryAfterMs });
    if (status >= 500) return new LlmError("server_error", detail, { cause: error, status, retryAfterMs });
    if (status === 401 || status === 403) return new LlmError("auth", detail, { cause: error, status });
    return new LlmError("bad_request", detail, { cause: error, status });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new LlmError("connection", `cannot reach the LLM endpoint: ${error.message}`, { cause: error });
  }
  if (error instanceof SyntaxError) {
    return new LlmError("malformed", `the LLM endpoint sent a malformed body: ${error.message}`, {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LlmError("malformed", `unexpected reply from the LLM endpoint: ${message}`, { cause: error });
}

/** `Retry-After` (seconds or an HTTP date) or `retry-after-ms`, in ms. */
function retryAfter(headers: Headers | undefined): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
