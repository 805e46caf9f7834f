/**
 * The error handed to `onMalformed` when an upstream payload does not match its expected shape.
 *
 * @module
 */
import type { z } from "zod";

/**
 * An upstream payload failed validation. Never thrown out of a source: it is counted and handed to the
 * source's `onMalformed(raw, error)` (the agent sends it to the dead-letter topic).
 *
 * @example
 * ```ts
 * // cryptocompare ws frame TYPE "0": field P: expected number, got "abc"
 * ```
 */
export class MalformedPayloadError extends Error {
  /** The upstream. */
  readonly source: string;
  /** Where the payload came from, e.g. `ws frame TYPE "0"`. */
  readonly where: string;
  /** The raw payload (text or parsed JSON). */
  readonly raw: unknown;
  /** Never worth retrying: the same payload fails the same way. */
  readonly retriable = false;

  constructor(source: string, where: string, detail: string, raw: unknown, cause?: unknown) {
    super(`${source} ${where}: ${detail}`, { cause });
    this.name = "MalformedPayloadError";
    this.source = source;
    this.where = where;
    this.raw = raw;
  }
}

/**
 * Describes zod issues as `field P: expected number, got "abc"` (issues joined with `; `). Parse with
 * `{ reportInput: true }` so the offending value is shown.
 *
 * @param error the zod error
 * @returns a one-line description
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((issue) => {
    const field = issue.path.length > 0 ? `field ${issue.path.join(".")}` : "payload";
    const input = (issue as { input?: unknown }).input;
    const got = "input" in issue ? `, got ${show(input)}` : "";
    if (issue.code === "invalid_type") return `${field}: expected ${issue.expected}${got}`;
    return `${field}: ${issue.message}${got}`;
  }).join("; ");
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
