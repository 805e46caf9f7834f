/**
 * The analyst: for each alert of `market.alerts` it runs its workflow — gather context through read-only tools
 * (the symbol's recent ticks, the other symbols at the same time), ask the LLM to explain (it may query further
 * through the same read-only tools), publish an insight to `market.insights` whose every cited number is tied
 * to the tool call that produced it (query and result hash).
 *
 * - A run is keyed by the alert's id and journalled after each step (`journalDir`), so an analyst killed mid-run
 *   resumes the run when the alert is redelivered, and an insight whose publish was recorded is never published
 *   twice. The insight's id is `insight-<alert id>`.
 * - Everything sent to the LLM is redacted (every secret of the node's connections, `redact` patterns); every
 *   exchange is audited to `auditTopic`. The Worker may reach only the LLM's host and its journal directory.
 *
 * @module
 */
import { z } from "zod";
import type { AgentBatch } from "../runtime/agent_batch.ts";
import type { AgentContext } from "../runtime/agent_context.ts";
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { auditRecord } from "../../llm/audit_record.ts";
import type { ChatClient } from "../../llm/chat_client.ts";
import { chatClientFor } from "../../llm/chat_client_for.ts";
import { findEvidence } from "../../llm/evidence.ts";
import { fileRunJournal } from "../../llm/file_run_journal.ts";
import { llmMetrics } from "../../llm/llm_metrics.ts";
import { DEFAULT_LLM_LIMITS, runLlmStep } from "../../llm/llm_step.ts";
import { workerToolbox } from "../../llm/mcp_toolbox.ts";
import { configSecrets, Redactor } from "../../llm/redactor.ts";
import { TokenBudget } from "../../llm/token_budget.ts";
import { resultHash } from "../../llm/tool_call_record.ts";
import { runWorkflow, WorkflowConfig } from "../../llm/workflow.ts";
import { netHost } from "./_source_agent.ts";

const WINDOW =
  "to_timestamp($2::float8 / 1000) - interval '5 minutes' AND ts <= to_timestamp($2::float8 / 1000)";

/** The workflow the analyst runs when its config declares none. */
export const DEFAULT_ANALYST_WORKFLOW = {
  steps: [
    {
      id: "recent",
      tool: "postgres.query",
      args: {
        sql: "SELECT count(*)::int AS ticks, min(price) AS low, max(price) AS high, " +
          "(array_agg(price ORDER BY ts))[1] AS first, (array_agg(price ORDER BY ts DESC))[1] AS last " +
          `FROM market_ticks WHERE symbol = $1::text AND ts > ${WINDOW}`,
        params: ["{{input.symbol}}", "{{input.ts}}"],
      },
      timeoutMs: 10_000,
    },
    {
      id: "others",
      tool: "postgres.query",
      args: {
        sql: "SELECT symbol, count(*)::int AS ticks, min(price) AS low, max(price) AS high " +
          `FROM market_ticks WHERE symbol IS DISTINCT FROM $1::text AND ts > ${WINDOW} GROUP BY symbol ORDER BY symbol`,
        params: ["{{input.symbol}}", "{{input.ts}}"],
      },
      timeoutMs: 10_000,
    },
    {
      id: "explain",
      llm: {
        system:
          "You are a market analyst. Explain alerts from market data. You may run further read-only SQL " +
          "with the query tools (table market_ticks: symbol, ts, price, volume). Every number you write must " +
          "appear in the alert or in a tool result. Answer only with JSON: " +
          '{"title": "...", "summary": "...", "confidence": 0.0-1.0}.',
        prompt: "Alert: {{input}}\nThe symbol's ticks in the 5 minutes before it: {{steps.recent.rows}}\n" +
          "Other symbols in the same 5 minutes: {{steps.others.rows}}\nExplain what happened.",
        output: "insight",
      },
    },
    {
      id: "insight",
      publish: {
        topic: "{{run.insightsTopic}}",
        key: "{{input.symbolKey}}",
        value: {
          id: "insight-{{input.id}}",
          ts: "{{run.startedAt}}",
          symbols: "{{input.symbols}}",
          source: "{{run.agent}}",
          alertId: "{{input.id}}",
          title: "{{steps.explain.output.title}}",
          summary: "{{steps.explain.output.summary}}",
          confidence: "{{steps.explain.output.confidence}}",
          model: "{{steps.explain.model}}",
          evidence: "{{steps.explain.output.evidence}}",
        },
      },
    },
  ],
} as const;

const limitsSchema = z.object({
  maxTurns: z.number().int().min(1).max(100).default(DEFAULT_LLM_LIMITS.maxTurns),
  maxToolCalls: z.number().int().min(0).max(1000).default(DEFAULT_LLM_LIMITS.maxToolCalls),
  maxIdenticalCalls: z.number().int().min(1).default(DEFAULT_LLM_LIMITS.maxIdenticalCalls),
  maxRefusals: z.number().int().min(1).default(DEFAULT_LLM_LIMITS.maxRefusals),
  tokensPerRun: z.number().int().min(1).default(DEFAULT_LLM_LIMITS.tokensPerRun),
}).strict();

/** Config of the analyst (the LLM settings default from `connections.llm`). */
export const AnalystConfig = z.object({
  baseUrl: z.string().regex(/^https?:\/\/[^/]/, "expected an http(s) URL").default(
    "https://api.openai.com/v1",
  ),
  apiKey: z.string().optional().transform((v) => v || undefined),
  model: z.string().min(1).default("gpt-4o-mini"),
  timeoutMs: z.number().int().min(1).default(60_000),
  attempts: z.number().int().min(1).max(20).default(4),
  breaker: z.object({
    failureThreshold: z.number().int().min(1).default(5),
    openMs: z.number().int().min(1).default(30_000),
  }).prefault({}),
  tokensPerHour: z.number().int().min(0).default(500_000),
  /** Regular expressions redacted before anything reaches the LLM (with `connections.llm.redact`). */
  redact: z.array(z.string().min(1)).default([]),
  /** Secret values to redact; filled by the node from its connections. */
  secrets: z.array(z.string()).default([]),
  auditTopic: z.string().min(1).default("llm.audit"),
  /** Record exchanges to, or replay them from, a cassette file (the Worker may read/write exactly that file). */
  cassette: z.object({
    mode: z.enum(["record", "replay"]),
    path: z.string().min(1),
    strict: z.boolean().default(true),
  }).strict().optional(),
  insightsTopic: z.string().min(1).default("market.insights"),
  /** Where runs record their progress (the Worker may read and write only this directory). */
  journalDir: z.string().min(1).default("./data/workflows/analyst"),
  limits: limitsSchema.prefault({}),
  workflow: WorkflowConfig.prefault(DEFAULT_ANALYST_WORKFLOW as unknown as z.input<typeof WorkflowConfig>),
}).strict();

/** The validated config. */
export type AnalystConfig = z.infer<typeof AnalystConfig>;

/** The read-only tools the analyst may be given (`agents.<id>.tools` narrows them). */
export const ANALYST_TOOLS = [
  "postgres.describe",
  "postgres.query",
  "clickhouse.describe",
  "clickhouse.query",
];

/** The analyst's spec: read-only tools, `net` to the LLM host, `read`/`write` on its journal directory. */
export const spec: AgentKindSpec<AnalystConfig> = defineAgent({
  name: "analyst",
  summary: "Explains market.alerts with an LLM over read-only tools, publishes market.insights with evidence",
  description:
    "Per alert it runs its workflow (docs/analyst.md): recent ticks of the symbol and of the other " +
    "symbols through the read-only query tools, an LLM step that may query further, then an insight whose every " +
    "cited number is tied to the tool call that produced it (query and result hash). Runs are journalled per " +
    "alert, so a killed analyst resumes and never publishes an insight twice; everything sent to the LLM is " +
    "redacted and every exchange audited.",
  role: "consumer",
  config: AnalystConfig as unknown as z.ZodType<AnalystConfig>,
  tools: ANALYST_TOOLS,
  toolsMayNarrow: true,
  topics: (config) => ({ writes: [config.insightsTopic, config.auditTopic] }),
  permissions: (config) => {
    const files = [config.journalDir, ...(config.cassette ? [config.cassette.path] : [])];
    return { net: [netHost(config.baseUrl)], read: files, write: files };
  },
  connections: {
    requires: ["llm"],
    defaults: {
      llm: (c, all) => ({
        baseUrl: c.baseUrl,
        apiKey: c.apiKey,
        model: c.model,
        timeoutMs: c.timeoutMs,
        attempts: c.attempts,
        breaker: c.breaker,
        tokensPerHour: c.tokensPerHour,
        redact: c.redact,
        auditTopic: c.auditTopic,
        cassette: c.cassette,
        // Every secret of every connection, so whatever an alert or a tool result echoes is redacted.
        secrets: configSecrets(all),
      }),
    },
  },
});

const InsightAnswer = z.object({
  title: z.string().min(1).max(200),
  summary: z.string().min(1).max(4000),
  confidence: z.number().min(0).max(1),
});

let cached: { key: string; client: ChatClient; hourly: TokenBudget; redactor: Redactor } | undefined;

function llmOf(ctx: AgentContext<AnalystConfig>) {
  const c = ctx.config;
  const key = JSON.stringify([
    c.baseUrl,
    c.apiKey,
    c.model,
    c.timeoutMs,
    c.attempts,
    c.breaker,
    c.redact,
    c.secrets,
  ]);
  if (cached?.key !== key) {
    cached = {
      key,
      client: chatClientFor(c, llmMetrics(ctx.metrics)),
      hourly: new TokenBudget(c.tokensPerHour),
      redactor: new Redactor([...c.secrets, ...(c.apiKey ? [c.apiKey] : [])], c.redact),
    };
  }
  return cached;
}

/**
 * Runs the workflow for every alert of the batch, in order.
 *
 * @param batch alerts (`market.alert` records)
 * @param ctx the agent context
 * @throws {WorkflowStepError} when a step fails for good (the batch fails; the alert is retried, then
 *   dead-lettered with the error)
 */
export async function receive(batch: AgentBatch, ctx: AgentContext<AnalystConfig>): Promise<void> {
  const c = ctx.config;
  const { client, hourly, redactor } = llmOf(ctx);
  const metrics = llmMetrics(ctx.metrics);
  const agent = ctx.actorId.split("/").at(-1)!.replace(/-\d+$/, "");
  const actor = ctx.actorId.split("/").at(-1)!;
  const toolbox = workerToolbox(ctx.tools);
  for (const record of batch.records) {
    const alert = record.value as { id: string; symbol: string | null; ts: number };
    const input = {
      ...alert,
      ts: Number(alert.ts),
      symbols: alert.symbol ? [alert.symbol] : [],
      symbolKey: alert.symbol ?? alert.id,
    };
    const inputHash = await resultHash(input);
    const correlationId = record.headers?.["correlation-id"] ?? ctx.correlationId;
    const run = await runWorkflow(c.workflow, `alert-${alert.id}`, input, {
      context: { agent, insightsTopic: c.insightsTopic },
      journal: fileRunJournal(c.journalDir),
      signal: ctx.signal,
      callTool: (name, args, signal) => ctx.tools.call(name, args, { signal }),
      runLlm: async (step, gathered, signal) => {
        // The workflow author's own words ("the 5 minutes before") are a source too, with the alert.
        const authored = `${step.system}\n${step.template.replace(/\{\{[^}]*\}\}/g, " ")}`;
        const sources = [
          { value: input, hash: inputHash },
          { value: authored, hash: await resultHash(authored), tool: "prompt" },
        ];
        const result = await runLlmStep({
          client,
          toolbox,
          allow: ANALYST_TOOLS,
          system: step.system,
          user: step.prompt,
          limits: c.limits,
          hourly,
          redactor,
          metrics,
          runId: `alert-${alert.id}`,
          signal,
          audit: async (exchange) => {
            await ctx.publish(c.auditTopic, [auditRecord(exchange, {
              agent,
              actor,
              ...(correlationId ? { correlationId } : {}),
            })]);
          },
          ...(step.output === "insight"
            ? {
              output: { name: "insight", schema: InsightAnswer },
              check: (answer: z.infer<typeof InsightAnswer>, calls) => {
                const { unsupported } = findEvidence(`${answer.title}\n${answer.summary}`, [
                  ...gathered,
                  ...calls,
                ], sources);
                return unsupported.length > 0
                  ? `these numbers appear in no tool result nor in the alert: ${unsupported.join(", ")}`
                  : undefined;
              },
            }
            : {}),
        });
        let output: unknown = result.output;
        if (step.output === "insight" && result.output) {
          const answer = result.output as z.infer<typeof InsightAnswer>;
          const { evidence } = findEvidence(`${answer.title}\n${answer.summary}`, [
            ...gathered,
            ...result.toolCalls,
          ], sources);
          output = { ...answer, evidence };
        }
        return { content: result.content, output, toolCalls: result.toolCalls, model: result.model };
      },
      publish: async (topic, key, value) => {
        await ctx.publish(topic, [{
          key,
          value,
          ...(correlationId ? { headers: { "correlation-id": correlationId } } : {}),
        }]);
      },
      onRetry: (step, error, attempt) =>
        ctx.log.warn("alert {alertId}: step {step} failed (attempt {attempt}), retrying: {error}", {
          alertId: alert.id,
          step,
          attempt,
          error: redactor.text(error instanceof Error ? error.message : String(error)),
        }),
    });
    ctx.log.info("alert {alertId}: insight published{resumed}", {
      alertId: alert.id,
      resumed: run.resumed.length > 0 ? ` (resumed after ${run.resumed.join(", ")})` : "",
    });
  }
}
