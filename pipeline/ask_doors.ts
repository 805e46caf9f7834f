/**
 * The node's doors to Ask, built when an LLM endpoint is configured (`connections.llm`, e.g. from
 * `OPENAI_BASE_URL`): `POST /api/ask` (the answer streamed as server-sent events) and the MCP tool
 * `analyst.ask`. Both run the {@linkcode AskService} on the main thread over an MCP server of the node's
 * catalogue bound to the caller and to the analyst's allow-list — which must name read-only tools only
 * (checked here, before anything starts). Every exchange is audited to `connections.llm.auditTopic`.
 *
 * @module
 */
import { z } from "zod";
import type { AgentRecord } from "../actors/runtime/agent_record.ts";
import { ConfigError } from "../core/config_error.ts";
import type { Config } from "../core/config_schema.ts";
import { getLogger } from "../core/log.ts";
import { ASK_TOOLS, type AskService, createAskService } from "../llm/ask_service.ts";
import { auditRecord } from "../llm/audit_record.ts";
import { chatClientFor } from "../llm/chat_client_for.ts";
import { LlmError } from "../llm/llm_error.ts";
import { llmMetrics, mainThreadMetrics } from "../llm/llm_metrics.ts";
import type { LlmLimits } from "../llm/llm_step.ts";
import type { Redactor } from "../llm/redactor.ts";
import { TokenBudget } from "../llm/token_budget.ts";
import type { ApiEndpoint } from "../tools/api_http_handler.ts";
import { isToolAllowed } from "../tools/tool_access.ts";
import { type AnyToolDefinition, defineTool } from "../tools/tool_definition.ts";

/** What {@linkcode askDoors} adds to the node. */
export interface AskDoors {
  service: AskService;
  /** `analyst.ask`, to add to the catalogue. */
  tool: AnyToolDefinition;
  /** `POST /api/ask`. */
  endpoint: ApiEndpoint;
}

const log = getLogger("llm.ask");

/**
 * Checks that an allow-list reaches read-only tools only.
 *
 * @param tools the catalogue
 * @param allow the patterns
 * @param path the config path to name in the error
 * @throws {ConfigError} naming the path and the tools that are not read-only
 */
export function assertReadOnlyAllow(
  tools: readonly AnyToolDefinition[],
  allow: readonly string[],
  path: string,
): void {
  const writers = tools.filter((t) => isToolAllowed(allow, t.name) && !t.annotations.readOnlyHint).map((t) =>
    t.name
  );
  if (writers.length > 0) {
    throw new ConfigError("the pipeline file", [{
      path,
      message: `an LLM may only be given read-only tools; ${writers.join(", ")} ${
        writers.length === 1 ? "is" : "are"
      } not read-only`,
    }]);
  }
}

/**
 * Builds the Ask doors, or nothing when no LLM endpoint is configured.
 *
 * @param config the validated configuration
 * @param tools the node's catalogue (without `analyst.ask`)
 * @param publish the node's publish (to the audit topic)
 * @param redactor the node's redactor
 * @returns the doors, or undefined without `connections.llm`
 * @throws {ConfigError} when the analyst's tools are not all read-only
 */
export function askDoors(
  config: Config,
  tools: readonly AnyToolDefinition[],
  publish: (topic: string, records: AgentRecord[]) => Promise<unknown>,
  redactor: Redactor,
): AskDoors | undefined {
  const llm = config.connections.llm;
  if (!llm) return undefined;
  const analyst = Object.entries(config.agents).find(([, a]) => a.kind === "analyst");
  const allow = analyst && analyst[1].tools.length > 0 ? analyst[1].tools : ASK_TOOLS;
  assertReadOnlyAllow(tools, allow, analyst ? `agents.${analyst[0]}.tools` : "Ask's default tools");
  const limits = (analyst?.[1].config as { limits?: Partial<LlmLimits> } | undefined)?.limits;
  const metrics = llmMetrics(mainThreadMetrics({ agent: analyst?.[0] ?? "analyst", actor: "ask" }));
  const client = chatClientFor(llm, metrics);
  const service = createAskService({
    client,
    tools,
    allow,
    redactor,
    ...(limits ? { limits } : {}),
    hourly: new TokenBudget(llm.tokensPerHour),
    metrics,
    audit: async (exchange, caller) => {
      await publish(llm.auditTopic, [
        auditRecord(exchange, { agent: analyst?.[0] ?? "analyst", actor: caller }),
      ]);
    },
  });
  const tool = defineTool({
    name: "analyst.ask",
    title: "Ask a question about the data",
    description:
      "Answers a natural-language question about the node's market data: an LLM explores the schema " +
      "and runs read-only SQL through the query tools. Returns {answer, queries: [{tool, sql, rows, rowCount, " +
      "resultHash}], toolCalls, refusals, usage, model, runId}. Every exchange is audited.",
    inputSchema: z.object({
      question: z.string().min(1).max(4000).describe("The question, in plain language"),
    }),
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    role: "reader",
    handler: async ({ question }, ctx) => {
      try {
        return { ...await service.ask(question, { caller: ctx.caller, signal: ctx.signal }) };
      } catch (error) {
        throw error instanceof LlmError ? error : new LlmError("malformed", String(error), { cause: error });
      }
    },
  });
  const endpoint: ApiEndpoint = {
    path: "/api/ask",
    permission: "analyst.ask",
    method: "POST",
    handle: (request, ctx) => sseAnswer(service, request, ctx.caller, redactor),
  };
  return { service, tool, endpoint };
}

const AskBody = z.object({ question: z.string().min(1).max(4000) }).strict();

async function sseAnswer(service: AskService, request: Request, caller: string, redactor: Redactor) {
  let body: z.infer<typeof AskBody>;
  try {
    body = AskBody.parse(await request.json());
  } catch (error) {
    const detail = error instanceof z.ZodError
      ? error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")
      : "the body is not JSON";
    return Response.json({ error: `Cannot ask: ${detail} (expected {"question": "..."})` }, { status: 400 });
  }
  const encoder = new TextEncoder();
  // A client that goes away cancels the stream (cancel below), which stops the run.
  const abort = new AbortController();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: string, data: unknown) => {
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          abort.abort();
        }
      };
      try {
        const answer = await service.ask(body.question, {
          caller,
          signal: abort.signal,
          onEvent: (e) => {
            if (e.type === "text") send("text", { delta: e.delta });
            else {
              const { result: _result, ...call } = e.call;
              send("tool_call", call);
            }
          },
        });
        send("answer", answer);
      } catch (error) {
        const e = error instanceof LlmError
          ? error
          : new LlmError("malformed", String(error), { cause: error });
        log.warn("ask for {caller} failed: {reason}: {error}", {
          caller,
          reason: e.reason,
          error: e.message,
        });
        send("error", { reason: e.reason, retriable: e.retriable, error: redactor.text(e.message) });
      } finally {
        try {
          controller.close();
        } catch {
          // the client went away
        }
      }
    },
    cancel() {
      abort.abort();
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
  });
}

/**
 * `GET /api/llm/audit`: the audit topic's records, oldest first, filtered by `runId`, `source` (the agent),
 * `actor`, `outcome`, `kind`
 * and capped by `limit` (the newest N; default 100).
 *
 * @param read reads and decodes the whole audit topic
 * @returns the endpoint (permission `analyst.ask`: who may ask may read what asking did)
 */
export function auditEndpoint(read: () => Promise<Record<string, unknown>[]>): ApiEndpoint {
  return {
    path: "/api/llm/audit",
    permission: "analyst.ask",
    handle: async (request) => {
      const query = new URL(request.url).searchParams;
      const limit = Math.max(1, Math.min(10_000, Number(query.get("limit") ?? 100) || 100));
      const filters = ["runId", "source", "actor", "outcome", "kind"].flatMap((f) => {
        const v = query.get(f);
        return v === null ? [] : [[f, v] as const];
      });
      const records = (await read())
        .filter((r) => filters.every(([f, v]) => r[f] === v))
        .sort((a, b) => Number(a.ts) - Number(b.ts));
      return Response.json({ records: records.slice(-limit) });
    },
  };
}
