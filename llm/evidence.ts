/**
 * Evidence: every number an LLM's explanation cites must come from a recorded tool call (the query and the hash
 * of its result) from the trigger itself, or from the workflow author's own prompt text ("the 5 minutes before"). {@linkcode findEvidence} ties each cited number to the first call
 * whose result contains it (at the precision the text cites it), and lists the numbers nothing backs.
 *
 * @module
 */
import type { ToolCallRecord } from "./tool_call_record.ts";

/** One cited number and where it came from. */
export interface Evidence {
  /** The number as the text cites it. */
  value: string;
  /** The tool (`postgres.query`), or `input` for the trigger record. */
  tool: string;
  /** The query (SQL) or arguments of the call, as JSON when not SQL. */
  query: string;
  /** `sha256:<hex>` of the call's result. */
  resultHash: string;
}

// Numbers not glued to letters (BTC-USD, ETH2 and 1m are names, not numbers cited).
const NUMBER = /(?<![A-Za-z0-9_.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![A-Za-z0-9_])/g;

/**
 * The numbers a text cites.
 *
 * @param text the explanation
 * @returns the numbers as written (thousands separators removed)
 */
export function citedNumbers(text: string): string[] {
  return [...new Set([...text.matchAll(NUMBER)].map((m) => m[0].replaceAll(",", "")))];
}

function numbersIn(value: unknown, out: number[] = []): number[] {
  if (typeof value === "number") out.push(value);
  else if (typeof value === "string") {
    const n = Number(value);
    if (value.trim() !== "" && Number.isFinite(n)) out.push(n);
  } else if (Array.isArray(value)) value.forEach((v) => numbersIn(v, out));
  else if (value !== null && typeof value === "object") {
    Object.values(value).forEach((v) => numbersIn(v, out));
  }
  return out;
}

/** Whether `found` is `cited` at the precision the text cites (12.3 matches 12.34, 12 matches 12.4). */
function matches(cited: string, found: number): boolean {
  const decimals = cited.split(".")[1]?.length ?? 0;
  const c = Number(cited);
  return Math.abs(found - c) <= 0.5 * 10 ** -decimals + 1e-9 ||
    Math.abs(Math.abs(found) - Math.abs(c)) <= 1e-9;
}

/**
 * Backs each cited number with a tool call.
 *
 * @param text the explanation
 * @param calls the run's successful tool calls (with results)
 * @param input the trigger record (and e.g. the prompt's own text, `tool: "prompt"`) with its hash, as sources
 *   of their own numbers
 * @returns the evidence and the numbers nothing backs
 */
export function findEvidence(
  text: string,
  calls: readonly ToolCallRecord[],
  input?:
    | { value: unknown; hash: string; tool?: string }
    | Array<{ value: unknown; hash: string; tool?: string }>,
): { evidence: Evidence[]; unsupported: string[] } {
  const sources = calls.filter((c) => c.outcome === "ok" && c.resultHash).map((c) => ({
    tool: c.tool,
    query: typeof (c.arguments as { sql?: unknown })?.sql === "string"
      ? (c.arguments as { sql: string }).sql
      : JSON.stringify(c.arguments),
    resultHash: c.resultHash!,
    numbers: numbersIn(c.result),
  }));
  for (const given of input === undefined ? [] : Array.isArray(input) ? input : [input]) {
    const numbers = typeof given.value === "string"
      ? citedNumbers(given.value).map(Number)
      : numbersIn(given.value);
    sources.push({ tool: given.tool ?? "input", query: "", resultHash: given.hash, numbers });
  }
  const evidence: Evidence[] = [];
  const unsupported: string[] = [];
  for (const value of citedNumbers(text)) {
    const source = sources.find((s) => s.numbers.some((n) => matches(value, n)));
    if (source) {
      evidence.push({ value, tool: source.tool, query: source.query, resultHash: source.resultHash });
    } else unsupported.push(value);
  }
  return { evidence, unsupported };
}
