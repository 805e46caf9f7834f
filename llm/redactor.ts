/**
 * Prompt hygiene: every text bound for the LLM (and every text logged or audited) passes through a
 * {@linkcode Redactor} first. It removes the secret values the configuration loaded (API keys, passwords,
 * tokens, the credentials inside connection strings), the shapes the log redactor knows (`Bearer …`,
 * `password=…`, `scheme://user:pass@`), API-key shapes (`sk-…`) and the operator's own patterns
 * (`connections.llm.redact`).
 *
 * @module
 */
import { isSecretKey, REDACTED, redactText } from "../core/log_redact.ts";

/** Key shapes redacted whatever the config says: OpenAI-style keys and long bearer-like tokens. */
const BUILT_IN_PATTERNS: readonly RegExp[] = [/\bsk-[A-Za-z0-9_-]{16,}\b/g];

const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:([^/\s@]+)@/i;

/** Removes secrets from text and values before they reach the LLM, the logs or the audit topic. */
export class Redactor {
  readonly #secrets: string[];
  readonly #patterns: RegExp[];

  /**
   * @param secrets exact values to remove (shorter than 6 characters are ignored)
   * @param patterns extra regular expressions (sources); each match is removed
   * @throws {SyntaxError} when a pattern is not a valid regular expression
   */
  constructor(secrets: Iterable<string> = [], patterns: readonly string[] = []) {
    // Longest first, so a secret containing another is removed whole.
    this.#secrets = [...new Set([...secrets].filter((s) => s.length >= 6))].sort((a, b) =>
      b.length - a.length
    );
    this.#patterns = [...BUILT_IN_PATTERNS, ...patterns.map((p) => new RegExp(p, "g"))];
  }

  /** How many exact secret values this redactor knows (for the start banner and tests). */
  get secretCount(): number {
    return this.#secrets.length;
  }

  /** The exact secret values (to register with the log redactor). */
  get secrets(): readonly string[] {
    return this.#secrets;
  }

  /**
   * The text with every secret replaced by `***`.
   *
   * @param text any text
   * @returns the redacted text
   *
   * @example
   * ```ts
   * new Redactor(["hunter2-key"]).text("my key is hunter2-key"); // "my key is ***"
   * ```
   */
  text(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.replaceAll(secret, REDACTED);
    for (const pattern of this.#patterns) out = out.replace(pattern, REDACTED);
    return redactText(out);
  }

  /**
   * A deep copy of a JSON-like value with every string redacted.
   *
   * @param value any JSON-like value
   * @returns the redacted copy
   */
  value<T>(value: T): T {
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return this.text(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, walk(inner)]));
      }
      return v;
    };
    return walk(value) as T;
  }
}

/**
 * Every secret value in a loaded configuration: strings under secret-looking keys (`apiKey`, `password`,
 * `token`, …, at any depth — connections, agents' configs, `mcp.tokens`) and the passwords inside connection
 * strings.
 *
 * @param config the validated configuration (or any part of it)
 * @returns the secret strings
 *
 * @example
 * ```ts
 * configSecrets({ connections: { llm: { apiKey: "sk-abc" } } }); // ["sk-abc"]
 * ```
 */
export function configSecrets(config: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown, key: string | undefined) => {
    if (typeof v === "string") {
      if (key !== undefined && isSecretKey(key) && v !== "") found.add(v);
      const password = URL_PASSWORD.exec(v)?.[1];
      if (password) {
        found.add(password);
        try {
          found.add(decodeURIComponent(password));
        } catch {
          // not percent-encoded
        }
      }
      return;
    }
    if (Array.isArray(v)) v.forEach((inner) => walk(inner, key));
    else if (v !== null && typeof v === "object") {
      for (const [k, inner] of Object.entries(v)) walk(inner, k);
    }
  };
  walk(config, undefined);
  return [...found];
}
