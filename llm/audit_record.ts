/**
 * An audited exchange as a record of the audit topic (schema `llm.audit`, keyed by run id so one run's
 * exchanges stay in order on one partition). Texts were redacted by the step; prompts are capped so one
 * exchange stays a reasonable record.
 *
 * @module
 */
import type { AgentRecord } from "../actors/runtime/agent_record.ts";
import type { LlmExchange } from "./llm_step.ts";

/** Longest prompt or response text kept in one audit record. */
export const MAX_AUDIT_TEXT = 64 * 1024;

/** Who asked. */
export interface AuditSource {
  /** Agent id, e.g. `analyst`. */
  agent: string;
  /** Actor or door, e.g. `analyst-0`, `api:local`. */
  actor: string;
  correlationId?: string;
}

/**
 * The record to publish for an exchange.
 *
 * @param exchange what the step reported (already redacted)
 * @param source who asked
 * @returns the record (value in the `llm.audit` schema's shape)
 */
export function auditRecord(exchange: LlmExchange, source: AuditSource): AgentRecord {
  const cap = (s: string) => (s.length > MAX_AUDIT_TEXT ? `${s.slice(0, MAX_AUDIT_TEXT)}… (truncated)` : s);
  return {
    key: exchange.runId,
    value: {
      id: crypto.randomUUID(),
      ts: Date.now(),
      source: source.agent,
      actor: source.actor,
      runId: exchange.runId,
      correlationId: source.correlationId ?? null,
      kind: exchange.kind,
      model: exchange.model,
      outcome: exchange.outcome,
      error: exchange.error ?? null,
      latencyMs: exchange.latencyMs,
      promptTokens: exchange.promptTokens,
      completionTokens: exchange.completionTokens,
      prompt: cap(exchange.prompt),
      response: cap(exchange.response),
      toolCalls: exchange.toolCalls.map((c) => ({
        id: c.id,
        tool: c.tool,
        arguments: cap(JSON.stringify(c.arguments) ?? "null"),
        outcome: c.outcome,
        reason: c.reason ?? null,
        resultHash: c.resultHash ?? null,
        durationMs: c.durationMs,
      })),
    },
    ...(source.correlationId ? { headers: { "correlation-id": source.correlationId } } : {}),
  };
}
