/**
 * The LLM step: a chat with tool calling over an agent's allowed MCP tools, until the model answers or a limit
 * ends the run.
 *
 * - Tools: what MCP `tools/list` returns, filtered by the allow-list and to read-only tools
 *   (`readOnlyHint: true`); the model sees them as functions named `postgres__query` (dots are not allowed in
 *   function names). A call to anything else is refused, never forwarded.
 * - Limits: `maxTurns` requests, `maxToolCalls` calls, `maxIdenticalCalls` of one exact call (a breaker for
 *   a model stuck in a loop: further repeats are refused, and the run ends after `maxRefusals` refusals),
 *   a token budget per run and a shared hourly {@linkcode TokenBudget}. Every request is retried by the
 *   {@linkcode ChatClient} (429/5xx, `Retry-After`, timeout, breaker).
 * - Structured output: with `output` (a zod schema), the answer must be JSON matching it; an invalid answer
 *   gets one correction turn, then the run fails with `invalid_output`.
 * - Hygiene: every message is redacted before it is sent; every exchange is handed to `audit` (redacted).
 *
 * @module
 */
import { z } from "zod";
import type { ChatClient, ChatMessage, ChatTool } from "./chat_client.ts";
import { LlmError } from "./llm_error.ts";
import type { LlmMetrics } from "./llm_metrics.ts";
import type { Redactor } from "./redactor.ts";
import type { TokenBudget } from "./token_budget.ts";
import { resultHash, type ToolCallRecord } from "./tool_call_record.ts";
import { isToolAllowed } from "../tools/tool_access.ts";

/** A tool as MCP `tools/list` describes it. */
export interface ListedTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean };
}

/** The MCP side of the step: list the tools, call one (throws on a tool error or a refusal). */
export interface LlmToolbox {
  list(): Promise<ListedTool[]>;
  call(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown>;
}

/** The step's limits. */
export interface LlmLimits {
  maxTurns: number;
  maxToolCalls: number;
  maxIdenticalCalls: number;
  maxRefusals: number;
  /** Tokens (prompt + completion) one run may spend. */
  tokensPerRun: number;
}

/** Default limits. */
export const DEFAULT_LLM_LIMITS: LlmLimits = {
  maxTurns: 8,
  maxToolCalls: 16,
  maxIdenticalCalls: 2,
  maxRefusals: 6,
  tokensPerRun: 50_000,
};

/** One audited exchange, already redacted. */
export interface LlmExchange {
  runId: string;
  kind: "exchange" | "run";
  model: string;
  outcome: string;
  error?: string;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
  /** Messages sent that the previous exchange had not sent (JSON). */
  prompt: string;
  response: string;
  toolCalls: ToolCallRecord[];
}

/** Progress the step reports while it runs (for streaming answers). */
export type LlmStepEvent =
  | { type: "text"; delta: string }
  | { type: "tool_call"; call: ToolCallRecord };

/** Options of {@linkcode runLlmStep}. */
export interface LlmStepOptions<T> {
  client: ChatClient;
  toolbox: LlmToolbox;
  /** Tool-name patterns the agent may use (`postgres.query`, `postgres.*`). */
  allow: readonly string[];
  system: string;
  user: string;
  limits?: Partial<LlmLimits>;
  hourly?: TokenBudget;
  redactor: Redactor;
  /** Where every exchange goes (the audit topic); awaited, so an audit failure fails the run. */
  audit?: (exchange: LlmExchange) => Promise<void> | void;
  metrics?: LlmMetrics;
  /** Structured output: the answer must be JSON of this schema. */
  output?: { name: string; schema: z.ZodType<T> };
  /** Extra check of a parsed answer; a string is the problem, told to the model for one more try. */
  check?: (answer: T, calls: readonly ToolCallRecord[]) => string | undefined;
  onEvent?: (event: LlmStepEvent) => void;
  runId?: string;
  signal?: AbortSignal;
}

/** What a run produced. */
export interface LlmStepResult<T> {
  runId: string;
  /** The answer text (redacted). */
  content: string;
  /** The parsed answer, with `output`. */
  output?: T;
  toolCalls: ToolCallRecord[];
  usage: { prompt: number; completion: number };
  turns: number;
  model: string;
}

/** `postgres.query` → `postgres__query` (OpenAI function names allow `[a-zA-Z0-9_-]` only). */
export function functionName(tool: string): string {
  return tool.replaceAll(".", "__");
}

/**
 * Runs the step.
 *
 * @param options client, tools, prompts, limits, redaction, audit
 * @returns the answer and every tool call it made
 * @throws {LlmError} `limit_reached`, `budget_exhausted`, `invalid_output`, or the client's failure; the
 *   exchanges up to then are audited, and a final `run` record names the outcome
 */
export async function runLlmStep<T = unknown>(options: LlmStepOptions<T>): Promise<LlmStepResult<T>> {
  const limits = { ...DEFAULT_LLM_LIMITS, ...options.limits };
  const runId = options.runId ?? crypto.randomUUID();
  const { client, redactor, metrics } = options;
  const listed = await options.toolbox.list();
  const offered = listed.filter((t) =>
    t.annotations?.readOnlyHint === true && isToolAllowed(options.allow, t.name)
  );
  const byFunction = new Map(offered.map((t) => [functionName(t.name), t]));
  const tools: ChatTool[] = offered.map((t) => ({
    name: functionName(t.name),
    description: t.description ?? t.name,
    parameters: t.inputSchema,
  }));
  const messages: ChatMessage[] = [
    { role: "system", content: redactor.text(options.system) },
    { role: "user", content: redactor.text(options.user) },
  ];
  const jsonSchema = options.output
    ? z.toJSONSchema(options.output.schema) as Record<string, unknown>
    : undefined;
  const calls: ToolCallRecord[] = [];
  const seen = new Map<string, number>();
  const usage = { prompt: 0, completion: 0 };
  let sentUpTo = 0;
  let refusals = 0;
  let corrections = 0;
  let model = client.model;
  const started = performance.now();

  const finish = async (outcome: string, error?: string) => {
    await options.audit?.({
      runId,
      kind: "run",
      model,
      outcome,
      ...(error !== undefined ? { error: redactor.text(error) } : {}),
      latencyMs: Math.round(performance.now() - started),
      promptTokens: usage.prompt,
      completionTokens: usage.completion,
      prompt: "",
      response: "",
      toolCalls: [],
    });
  };
  const fail = async (error: LlmError): Promise<never> => {
    metrics?.error(error.reason);
    await finish(error.reason, error.message);
    throw error;
  };

  for (let turn = 1;; turn++) {
    if (turn > limits.maxTurns) {
      await fail(
        new LlmError("limit_reached", `the run used its ${limits.maxTurns} turns without an answer`),
      );
    }
    if (usage.prompt + usage.completion >= limits.tokensPerRun) {
      await fail(new LlmError("budget_exhausted", `the run spent its ${limits.tokensPerRun} tokens`));
    }
    if (options.hourly && options.hourly.remaining() <= 0) {
      await fail(new LlmError("budget_exhausted", "the hourly token budget is spent"));
    }
    const requestStarted = performance.now();
    const newMessages = messages.slice(sentUpTo);
    sentUpTo = messages.length;
    let reply;
    try {
      reply = await client.complete({
        messages,
        tools,
        ...(jsonSchema && options.output
          ? { responseFormat: { name: options.output.name, schema: jsonSchema } }
          : {}),
        onText: (delta) => options.onEvent?.({ type: "text", delta: redactor.text(delta) }),
        signal: options.signal,
      });
    } catch (error) {
      const e = error instanceof LlmError
        ? error
        : new LlmError("malformed", error instanceof Error ? error.message : String(error), { cause: error });
      await options.audit?.({
        runId,
        kind: "exchange",
        model,
        outcome: "error",
        error: redactor.text(e.message),
        latencyMs: Math.round(performance.now() - requestStarted),
        promptTokens: 0,
        completionTokens: 0,
        prompt: redactor.text(JSON.stringify(newMessages)),
        response: "",
        toolCalls: [],
      });
      await finish(e.reason, e.message);
      throw e;
    }
    model = reply.model;
    usage.prompt += reply.usage.prompt;
    usage.completion += reply.usage.completion;
    options.hourly?.spend(reply.usage.prompt + reply.usage.completion);
    const content = redactor.text(reply.content);
    messages.push({
      role: "assistant",
      content: content === "" ? null : content,
      ...(reply.toolCalls.length > 0
        ? {
          tool_calls: reply.toolCalls.map((c) => ({
            id: c.id,
            type: "function" as const,
            function: { name: c.name, arguments: redactor.text(c.arguments) },
          })),
        }
        : {}),
    });
    sentUpTo = messages.length;

    const turnCalls: ToolCallRecord[] = [];
    let problem: string | undefined;
    let answer: T | undefined;
    for (const call of reply.toolCalls) {
      const record = await runToolCall(call, {
        byFunction,
        toolbox: options.toolbox,
        redactor,
        seen,
        limits,
        callsSoFar: calls.filter((c) => c.outcome !== "refused").length,
        signal: options.signal,
      });
      if (record.outcome === "refused") refusals++;
      metrics?.toolCall(record.tool, record.outcome);
      calls.push(record);
      turnCalls.push(record);
      options.onEvent?.({ type: "tool_call", call: record });
      messages.push({ role: "tool", tool_call_id: call.id, content: redactor.text(toolMessage(record)) });
    }
    if (reply.toolCalls.length === 0 && options.output) {
      const parsed = parseOutput(content, options.output.schema);
      if (typeof parsed === "string") problem = parsed;
      else {
        problem = options.check?.(parsed.value, calls);
        if (problem === undefined) answer = parsed.value;
      }
      if (problem !== undefined) {
        messages.push({ role: "user", content: `Your answer was not accepted: ${problem}. Answer again.` });
      }
    }
    await options.audit?.({
      runId,
      kind: "exchange",
      model,
      outcome: reply.toolCalls.length > 0
        ? (turnCalls.some((c) => c.outcome === "refused") ? "refused" : "tool_calls")
        : problem !== undefined
        ? "invalid_output"
        : "ok",
      ...(problem !== undefined ? { error: problem } : {}),
      latencyMs: Math.round(performance.now() - requestStarted),
      promptTokens: reply.usage.prompt,
      completionTokens: reply.usage.completion,
      prompt: redactor.text(JSON.stringify(newMessages)),
      response: content,
      toolCalls: turnCalls.map(({ result: _result, ...rest }) => rest),
    });
    if (refusals >= limits.maxRefusals) {
      await fail(new LlmError("limit_reached", `the run ended after ${refusals} refused tool calls`));
    }
    if (reply.toolCalls.length > 0) continue;
    if (problem !== undefined) {
      if (++corrections > 1) {
        await fail(new LlmError("invalid_output", `the answer was not accepted: ${problem}`));
      }
      continue;
    }
    await finish("ok");
    return {
      runId,
      content,
      ...(answer !== undefined ? { output: answer } : {}),
      toolCalls: calls,
      usage,
      turns: turn,
      model,
    };
  }
}

interface CallContext {
  byFunction: Map<string, ListedTool>;
  toolbox: LlmToolbox;
  redactor: Redactor;
  seen: Map<string, number>;
  limits: LlmLimits;
  callsSoFar: number;
  signal?: AbortSignal;
}

async function runToolCall(
  call: { id: string; name: string; arguments: string },
  ctx: CallContext,
): Promise<ToolCallRecord> {
  const started = performance.now();
  const tool = ctx.byFunction.get(call.name);
  const toolName = tool?.name ?? call.name.replaceAll("__", ".");
  let args: unknown;
  try {
    args = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments);
  } catch {
    args = call.arguments;
  }
  const base = { id: call.id, tool: toolName, arguments: ctx.redactor.value(args) };
  const refuse = (reason: string): ToolCallRecord => ({
    ...base,
    outcome: "refused",
    reason,
    durationMs: Math.round(performance.now() - started),
  });
  if (!tool) return refuse(`tool "${toolName}" is not among this agent's read-only tools`);
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return refuse("the arguments are not a JSON object");
  }
  const key = `${tool.name} ${JSON.stringify(args)}`;
  const repeats = (ctx.seen.get(key) ?? 0) + 1;
  ctx.seen.set(key, repeats);
  if (repeats > ctx.limits.maxIdenticalCalls) {
    return refuse(
      `the same call was already made ${repeats - 1} times (limit ${ctx.limits.maxIdenticalCalls})`,
    );
  }
  if (ctx.callsSoFar >= ctx.limits.maxToolCalls) {
    return refuse(`the run already made its ${ctx.limits.maxToolCalls} tool calls`);
  }
  try {
    const result = await ctx.toolbox.call(tool.name, args as Record<string, unknown>, ctx.signal);
    return {
      ...base,
      outcome: "ok",
      result,
      resultHash: await resultHash(result),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const refused = error instanceof Error &&
      (error as { remoteName?: string }).remoteName === "AccessDenied";
    return {
      ...base,
      outcome: refused || REFUSAL.test(message) ? "refused" : "error",
      reason: ctx.redactor.text(message),
      durationMs: Math.round(performance.now() - started),
    };
  }
}

const MAX_TOOL_MESSAGE = 16_000;

/** Tool errors that are the database or the server saying no (not a failure to retry or report as a bug). */
const REFUSAL =
  /access denied|permission denied|read-only transaction|must be superuser|pg_execute_server_program|readonly mode|forbidden in readonly/i;

function toolMessage(record: ToolCallRecord): string {
  if (record.outcome !== "ok") return JSON.stringify({ [record.outcome]: record.reason });
  const text = JSON.stringify(record.result);
  return text.length > MAX_TOOL_MESSAGE ? `${text.slice(0, MAX_TOOL_MESSAGE)}… (truncated)` : text;
}

function parseOutput<T>(content: string, schema: z.ZodType<T>): { value: T } | string {
  const json = content.trim().replace(/^```(?:json)?\s*/, "").replace(/```$/, "");
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return "it is not JSON";
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return `it does not match the schema: ${
      parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")
    }`;
  }
  return { value: parsed.data };
}
