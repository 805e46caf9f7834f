/**
 * The LLM metric families, reported through an {@linkcode AgentMetrics} (a Worker's `ctx.metrics`, or
 * {@linkcode mainThreadMetrics} on the main thread), so both doors share one set of label names:
 * `llm_request_duration_seconds{model,outcome}`, `llm_tokens_total{kind}`, `llm_tool_calls_total{tool,outcome}`,
 * `llm_errors_total{reason}` (each also labelled `agent` and `actor`).
 *
 * @module
 */
import type { AgentMetrics } from "../actors/runtime/agent_metrics.ts";
import { recordAgentMetrics } from "../supervisor/actor_metrics.ts";

/** What the LLM step and client record. */
export interface LlmMetrics {
  request(model: string, outcome: "ok" | "error", seconds: number): void;
  tokens(kind: "prompt" | "completion", count: number): void;
  toolCall(tool: string, outcome: "ok" | "error" | "refused"): void;
  error(reason: string): void;
}

/**
 * The LLM metrics over an agent's metrics facade.
 *
 * @param metrics where samples go
 * @returns the recorder
 */
export function llmMetrics(metrics: AgentMetrics): LlmMetrics {
  return {
    request: (model, outcome, seconds) =>
      metrics.observe("llm_request_duration_seconds", seconds, { model, outcome }),
    tokens: (kind, count) => {
      if (count > 0) metrics.inc("llm_tokens_total", { kind }, count);
    },
    toolCall: (tool, outcome) => metrics.inc("llm_tool_calls_total", { tool, outcome }),
    error: (reason) => metrics.inc("llm_errors_total", { reason }),
  };
}

/**
 * An {@linkcode AgentMetrics} that records straight into the process registry with fixed `agent`/`actor`
 * labels, for LLM work done on the main thread (`/api/ask`, `analyst.ask`).
 *
 * @param base the `agent` and `actor` labels, e.g. `{ agent: "analyst", actor: "api" }`
 * @returns the facade
 */
export function mainThreadMetrics(base: { agent: string; actor: string }): AgentMetrics {
  const record = (
    kind: "counter" | "gauge" | "histogram",
    name: string,
    labels: Record<string, string>,
    value: number,
  ) => void recordAgentMetrics([{ kind, name, labels, value }], base);
  return {
    inc: (name, labels = {}, value = 1) => record("counter", name, labels, value),
    set: (name, value, labels = {}) => record("gauge", name, labels, value),
    observe: (name, value, labels = {}) => record("histogram", name, labels, value),
  };
}
