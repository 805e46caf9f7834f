/**
 * Ask: a natural-language question answered from the node's own data. The model explores the schema
 * (`postgres.describe`) and answers with read-only SQL through the query tools (`postgres.query`, and
 * ClickHouse's when configured); the answer shows each SQL statement it ran and the rows it used. The model
 * only ever reaches the read-only tools of the allow-list, which themselves run as the reader role.
 *
 * One service serves the three doors: `deno task ask`, `POST /api/ask` (SSE) and the MCP tool `analyst.ask`.
 *
 * @module
 */
import type { AnyToolDefinition } from "../tools/tool_definition.ts";
import type { ChatClient } from "./chat_client.ts";
import { LlmError } from "./llm_error.ts";
import type { LlmMetrics } from "./llm_metrics.ts";
import { type LlmExchange, type LlmLimits, type LlmStepEvent, runLlmStep } from "./llm_step.ts";
import { mcpToolbox } from "./mcp_toolbox.ts";
import type { Redactor } from "./redactor.ts";
import type { TokenBudget } from "./token_budget.ts";

/** The read-only tools Ask may use when the analyst's config names none. */
export const ASK_TOOLS: readonly string[] = [
  "postgres.describe",
  "postgres.query",
  "clickhouse.describe",
  "clickhouse.query",
];

/** One query the answer used. */
export interface AskQuery {
  tool: string;
  sql: string;
  params?: unknown[];
  rows: unknown[];
  rowCount: number;
  resultHash: string;
}

/** An answer. */
export interface AskAnswer {
  runId: string;
  question: string;
  answer: string;
  /** The SQL it ran successfully, with the rows. */
  queries: AskQuery[];
  toolCalls: number;
  refusals: number;
  usage: { prompt: number; completion: number };
  model: string;
  durationMs: number;
}

/** Options of {@linkcode createAskService}. */
export interface AskServiceOptions {
  client: ChatClient;
  /** The node's tool catalogue (the service reaches only `allow` of it). */
  tools: readonly AnyToolDefinition[];
  allow: readonly string[];
  redactor: Redactor;
  limits?: Partial<LlmLimits>;
  hourly?: TokenBudget;
  metrics?: LlmMetrics;
  /** Publishes one exchange to the audit topic, tagged with who asked. */
  audit: (exchange: LlmExchange, caller: string) => Promise<void>;
}

/** Answers questions. */
export interface AskService {
  /**
   * @param question the question (redacted before it goes anywhere)
   * @param options who asks (`api:<token>`, `mcp:<token>`), progress events, abort
   * @throws {LlmError} when no answer came within the limits
   */
  ask(
    question: string,
    options: { caller: string; onEvent?: (event: LlmStepEvent) => void; signal?: AbortSignal },
  ): Promise<AskAnswer>;
}

const SYSTEM = `You answer questions about live market data stored by qistream.
Tools: the *__describe tools list tables (no argument) or one table's columns; the *__query tools run ONE read-only
SQL statement. Market ticks are in the table market_ticks (PostgreSQL: ts is a timestamptz, symbol a text such as
BTC-USD). "Now" is the database's now(). First look at the schema when you are unsure of a column, then query.
Every number in your answer must come from a query result. Answer in one or two plain sentences; do not invent data.`;

/**
 * Creates the service.
 *
 * @param options client, catalogue, allow-list, redaction, limits, audit
 * @returns the service
 */
export function createAskService(options: AskServiceOptions): AskService {
  return {
    async ask(question, { caller, onEvent, signal }) {
      const trimmed = question.trim();
      if (trimmed === "") throw new LlmError("bad_request", "Cannot ask: the question is empty");
      const started = performance.now();
      const toolbox = await mcpToolbox(options.tools, caller, options.allow);
      try {
        const result = await runLlmStep({
          client: options.client,
          toolbox,
          allow: options.allow,
          system: SYSTEM,
          user: trimmed,
          redactor: options.redactor,
          ...(options.limits ? { limits: options.limits } : {}),
          ...(options.hourly ? { hourly: options.hourly } : {}),
          ...(options.metrics ? { metrics: options.metrics } : {}),
          audit: (exchange) => options.audit(exchange, caller),
          ...(onEvent ? { onEvent } : {}),
          ...(signal ? { signal } : {}),
        });
        const queries: AskQuery[] = result.toolCalls
          .filter((c) => c.outcome === "ok" && c.tool.endsWith(".query"))
          .map((c) => {
            const args = c.arguments as { sql?: string; params?: unknown[] };
            const rows = (c.result as { rows?: unknown[] } | undefined)?.rows ?? [];
            return {
              tool: c.tool,
              sql: args.sql ?? "",
              ...(args.params && args.params.length > 0 ? { params: args.params } : {}),
              rows: options.redactor.value(rows),
              rowCount: rows.length,
              resultHash: c.resultHash ?? "",
            };
          });
        return {
          runId: result.runId,
          question: options.redactor.text(trimmed),
          answer: result.content,
          queries,
          toolCalls: result.toolCalls.length,
          refusals: result.toolCalls.filter((c) => c.outcome === "refused").length,
          usage: result.usage,
          model: result.model,
          durationMs: Math.round(performance.now() - started),
        };
      } finally {
        await toolbox.close();
      }
    },
  };
}
