/**
 * What the LLM step records of every tool call the model asked for: the call as made (redacted), what
 * happened (`ok`, `error` — the tool failed —, `refused` — the step or the server would not run it), why, and a
 * SHA-256 of the result, so evidence can name the exact result it came from.
 *
 * @module
 */

/** One tool call of a run. */
export interface ToolCallRecord {
  /** The model's call id. */
  id: string;
  /** The qistream tool name (`postgres.query`), or the name the model used when it matches none. */
  tool: string;
  /** The arguments (parsed when they were JSON, redacted). */
  arguments: unknown;
  outcome: "ok" | "error" | "refused";
  /** Why it was refused or failed. */
  reason?: string;
  /** The tool's result (ok calls only; kept for evidence, not published whole). */
  result?: unknown;
  /** `sha256:<hex>` of the result's JSON. */
  resultHash?: string;
  durationMs: number;
}

/**
 * `sha256:<hex>` of a value's JSON text.
 *
 * @param value any JSON value
 * @returns the hash
 */
export async function resultHash(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(value) ?? "null");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
