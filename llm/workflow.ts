/**
 * Workflows: a small declarative program an agent runs per trigger (an alert, a question). Steps run in order:
 *
 * - `tool`: calls an MCP tool with `args` whose strings may be templates — `{{input.symbol}}`,
 *   `{{steps.recent.rows}}`; a string that is exactly one template takes the value itself (a number, an array);
 * - `llm`: the LLM step ({@linkcode runLlmStep}) with a `system` and a `prompt` template, over the agent's
 *   read-only tools, optionally with structured `output`;
 * - `publish`: publishes `value` (a template object) to `topic`, keyed by `key`.
 *
 * Each step has a timeout and retries (exponential backoff with jitter; only retriable errors are retried). A
 * run's progress is recorded in a {@linkcode RunJournal} after every step, keyed by the trigger's run id (e.g.
 * the alert id): a crash mid-run resumes with the finished steps' outputs instead of redoing them, and a run
 * whose publish is recorded does not publish again. The LLM endpoint's circuit breaker lives in the client.
 *
 * @module
 */
import { z } from "zod";
import { abortableSleep } from "../core/abortable_sleep.ts";
import { backoffDelay } from "../core/backoff_delay.ts";
import { isRetriable } from "../core/retriable.ts";
import { resultHash, type ToolCallRecord } from "./tool_call_record.ts";

const retryFields = {
  /** Longest one attempt of the step may take. */
  timeoutMs: z.number().int().min(1).default(30_000),
  /** Further attempts after a retriable failure. */
  retries: z.number().int().min(0).max(10).default(2),
  /** First retry's delay; doubles per attempt, ±30 % jitter. */
  backoffMs: z.number().int().min(0).default(500),
};

const stepId = z.string().regex(/^[a-z][a-z0-9_]*$/, "expected a step id like recent_bars");

/** A tool step. */
const ToolStep = z.object({
  id: stepId,
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
  ...retryFields,
}).strict();

/** An LLM step. */
const LlmStep = z.object({
  id: stepId,
  llm: z.object({
    system: z.string().min(1),
    prompt: z.string().min(1),
    /** `insight`: the answer must be `{title, summary, confidence}` with every number backed by evidence. */
    output: z.enum(["text", "insight"]).default("text"),
  }).strict(),
  ...retryFields,
  timeoutMs: z.number().int().min(1).default(120_000),
}).strict();

/** A publish step. */
const PublishStep = z.object({
  id: stepId,
  publish: z.object({
    topic: z.string().min(1),
    key: z.string().default("{{run.id}}"),
    value: z.record(z.string(), z.unknown()),
  }).strict(),
  ...retryFields,
}).strict();

/** A workflow as declared in an agent's config. */
export const WorkflowConfig = z.object({
  steps: z.array(z.union([ToolStep, LlmStep, PublishStep])).min(1),
}).strict().superRefine((w, ctx) => {
  const seen = new Set<string>();
  w.steps.forEach((s, i) => {
    if (seen.has(s.id)) {
      ctx.addIssue({ code: "custom", path: ["steps", i, "id"], message: `duplicate step id "${s.id}"` });
    }
    seen.add(s.id);
    for (const ref of JSON.stringify(s).matchAll(/\{\{\s*steps\.([a-z0-9_]+)/g)) {
      if (!seen.has(ref[1]!) || ref[1] === s.id) {
        ctx.addIssue({
          code: "custom",
          path: ["steps", i],
          message: `refers to step "${ref[1]}", which does not run before it`,
        });
      }
    }
  });
});

/** A validated workflow. */
export type WorkflowConfig = z.infer<typeof WorkflowConfig>;
/** One step. */
export type WorkflowStep = WorkflowConfig["steps"][number];

/** What one run has done so far. */
export interface RunProgress {
  /** Output of each finished step. */
  steps: Record<string, unknown>;
  /** Step ids whose publish the log acknowledged. */
  published: string[];
  /** Attempts of the run (how many times it started). */
  starts: number;
  /** When the run first started (ms since the epoch): `{{run.startedAt}}`. */
  startedAt: number;
}

/** Where runs record their progress. */
export interface RunJournal {
  load(runId: string): Promise<RunProgress | undefined>;
  save(runId: string, progress: RunProgress): Promise<void>;
}

/** What steps need from the agent. */
export interface WorkflowEnv {
  callTool(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<unknown>;
  /** Runs the LLM step; returns the answer, its parsed output and the tool calls it made. */
  runLlm(
    step: Extract<WorkflowStep, { llm: unknown }>["llm"] & { prompt: string; template: string },
    evidence: readonly ToolCallRecord[],
    signal: AbortSignal,
  ): Promise<{ content: string; output?: unknown; toolCalls: ToolCallRecord[]; model: string }>;
  publish(topic: string, key: string, value: unknown): Promise<void>;
  journal: RunJournal;
  /** More values of `{{run.*}}` (e.g. the agent's id); `id`, `startedAt` and `starts` are the run's. */
  context?: Record<string, unknown>;
  /** Stops every step. */
  signal: AbortSignal;
  /** Called after a failed attempt that will be retried. */
  onRetry?: (step: string, error: unknown, attempt: number) => void;
}

/** The result of a run. */
export interface WorkflowRun {
  runId: string;
  outputs: Record<string, unknown>;
  /** Steps skipped because an earlier start of this run had finished them. */
  resumed: string[];
  /** Tool calls of the run (tool steps and the LLM's), for evidence. */
  toolCalls: ToolCallRecord[];
}

/** A step failed for good: names the step; `retriable` is the last error's. */
export class WorkflowStepError extends Error {
  override name = "WorkflowStepError";
  readonly retriable: boolean;
  constructor(readonly step: string, readonly attempts: number, cause: unknown) {
    super(
      `workflow step "${step}" failed after ${attempts} attempt(s): ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      {
        cause,
      },
    );
    this.retriable = isRetriable(cause);
  }
}

/**
 * Runs a workflow for one trigger.
 *
 * @param workflow the validated workflow
 * @param runId the trigger's stable id (an alert's id): re-runs of the same trigger share it
 * @param input the trigger (available as `{{input.*}}`)
 * @param env tools, LLM, publish, journal
 * @returns the outputs of every step
 * @throws {WorkflowStepError} when a step fails for good (after its retries)
 */
export async function runWorkflow(
  workflow: WorkflowConfig,
  runId: string,
  input: unknown,
  env: WorkflowEnv,
): Promise<WorkflowRun> {
  const progress: RunProgress = (await env.journal.load(runId)) ??
    { steps: {}, published: [], starts: 0, startedAt: Date.now() };
  progress.starts++;
  await env.journal.save(runId, progress);
  const resumed: string[] = [];
  const toolCalls: ToolCallRecord[] = [];
  const scope = () => ({
    input,
    steps: progress.steps,
    run: { ...env.context, id: runId, startedAt: progress.startedAt, starts: progress.starts },
  });
  for (const step of workflow.steps) {
    if (step.id in progress.steps) {
      resumed.push(step.id);
      const done = progress.steps[step.id] as { toolCalls?: ToolCallRecord[]; call?: ToolCallRecord };
      if (done?.call) toolCalls.push(done.call);
      if (done?.toolCalls) toolCalls.push(...done.toolCalls);
      continue;
    }
    const output = await attempt(step, env, async (signal) => {
      if ("tool" in step) {
        const args = render(step.args, scope()) as Record<string, unknown>;
        const started = performance.now();
        const result = await env.callTool(step.tool, args, signal);
        const call: ToolCallRecord = {
          id: `step:${step.id}`,
          tool: step.tool,
          arguments: args,
          outcome: "ok",
          result,
          resultHash: await resultHash(result),
          durationMs: Math.round(performance.now() - started),
        };
        return { ...(result as Record<string, unknown>), call };
      }
      if ("llm" in step) {
        const prompt = String(render(step.llm.prompt, scope()));
        const reply = await env.runLlm({ ...step.llm, prompt, template: step.llm.prompt }, toolCalls, signal);
        return {
          content: reply.content,
          output: reply.output,
          model: reply.model,
          toolCalls: reply.toolCalls,
        };
      }
      if (progress.published.includes(step.id)) return { published: true };
      const value = render(step.publish.value, scope());
      const key = String(render(step.publish.key, scope()));
      const topic = String(render(step.publish.topic, scope()));
      await env.publish(topic, key, value);
      progress.published.push(step.id);
      return { published: true, topic, key };
    });
    const done = output as { toolCalls?: ToolCallRecord[]; call?: ToolCallRecord };
    if (done.call) toolCalls.push(done.call);
    if (done.toolCalls) toolCalls.push(...done.toolCalls);
    progress.steps[step.id] = output;
    await env.journal.save(runId, progress);
  }
  return { runId, outputs: progress.steps, resumed, toolCalls };
}

async function attempt(
  step: WorkflowStep,
  env: WorkflowEnv,
  fn: (signal: AbortSignal) => Promise<unknown>,
): Promise<unknown> {
  for (let n = 0;; n++) {
    env.signal.throwIfAborted();
    const signal = AbortSignal.any([env.signal, AbortSignal.timeout(step.timeoutMs)]);
    try {
      return await Promise.race([
        fn(signal),
        new Promise<never>((_, reject) =>
          signal.addEventListener("abort", () =>
            reject(
              env.signal.aborted ? env.signal.reason : Object.assign(
                new Error(`step "${step.id}" timed out after ${step.timeoutMs} ms`),
                { retriable: true },
              ),
            ), { once: true })
        ),
      ]);
    } catch (error) {
      if (env.signal.aborted || n >= step.retries || !isRetriable(error)) {
        throw new WorkflowStepError(step.id, n + 1, error);
      }
      env.onRetry?.(step.id, error, n + 1);
      const after = (error as { retryAfterMs?: number }).retryAfterMs ?? 0;
      await abortableSleep(
        Math.max(after, backoffDelay(n, { initialMs: step.backoffMs, jitter: 0.3 })),
        env.signal,
      );
    }
  }
}

const WHOLE = /^\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}$/;
const ANY = /\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g;

/**
 * Fills templates: `{{a.b.c}}` looks the path up in `scope`. A string that is one template becomes the value;
 * templates inside text are replaced by the value (JSON for objects).
 *
 * @param template a string, array or object of templates
 * @param scope what paths resolve against
 * @returns the filled copy
 * @throws {RangeError} naming a path that resolves to nothing
 */
export function render(template: unknown, scope: Record<string, unknown>): unknown {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    if (whole) return lookup(scope, whole[1]!);
    return template.replace(ANY, (_, path: string) => {
      const v = lookup(scope, path);
      return typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(template)) return template.map((t) => render(t, scope));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, render(v, scope)]));
  }
  return template;
}

function lookup(scope: Record<string, unknown>, path: string): unknown {
  let v: unknown = scope;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || !(part in v)) {
      throw new RangeError(`Cannot fill template {{${path}}}: "${part}" is not there`);
    }
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}
