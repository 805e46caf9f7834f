/**
 * Redaction of secrets in log output: values under secret-looking keys, credentials inside URLs,
 * `Bearer` tokens and `password=...` pairs in free text.
 *
 * @module
 */

/** Replacement written in place of a secret. */
export const REDACTED = "***";

/** Keys whose values are always redacted (case-insensitive; `_`/`-` ignored). */
export const SECRET_KEY_PATTERN: RegExp =
  /^(password|passwd|pwd|pass|apikey|token|accesstoken|refreshtoken|secret|clientsecret|authorization|auth|credentials?|cookie|setcookie|privatekey|sasl)$|(password|apikey|secret|token)$/i;

/**
 * Whether a property key names a secret, e.g. `password`, `apiKey`, `api_key`, `authorization`, `dbPassword`.
 *
 * @param key a property name
 * @returns true when values under this key must never be logged
 */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key.replace(/[_-]/g, ""));
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]+@/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
const KEY_VALUE = /\b(password|passwd|pwd|api[_-]?key|token|secret|access[_-]?token)=([^\s&;,"']+)/gi;

/**
 * Redacts secrets in free text: `postgres://user:pass@host` -> `postgres://user:***@host`,
 * `Bearer abc` -> `Bearer ***`, `password=abc` -> `password=***`.
 *
 * @param text any text
 * @returns the text with those secrets replaced by `***`
 *
 * @example
 * ```ts
 * redactText("postgres://app:hunter2@db/q"); // "postgres://app:***@db/q"
 * ```
 */
export function redactText(text: string): string {
  let out = text
    .replace(URL_CREDENTIALS, `$1:${REDACTED}@`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(KEY_VALUE, `$1=${REDACTED}`);
  for (const secret of knownSecrets) out = out.replaceAll(secret, REDACTED);
  return out;
}

const knownSecrets = new Set<string>();

/**
 * Adds values that must never appear in text {@link redactText} returns (every secret the configuration loaded:
 * API keys, passwords, tokens), wherever they appear — e.g. echoed inside a question. Values shorter than 6
 * characters are ignored (they would redact ordinary words).
 *
 * @param values the secret strings
 *
 * @example
 * ```ts
 * registerSecrets(["hunter2-secret"]);
 * redactText("my key is hunter2-secret"); // "my key is ***"
 * ```
 */
export function registerSecrets(values: Iterable<string>): void {
  for (const v of values) if (v.length >= 6) knownSecrets.add(v);
}

/**
 * Returns a deep copy of `value` with secret-keyed values replaced by `***` and every string passed
 * through {@link redactText}. Each secret string removed is added to `found`, so callers can also scrub
 * it from text that was rendered before redaction (e.g. an interpolated log message).
 *
 * @param value any loggable value (cycles are cut)
 * @param found collects the secret strings that were removed
 * @returns the redacted copy
 */
export function redactValue(value: unknown, found: Set<string> = new Set()): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redactText(v);
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return "[Circular]";
    seen.add(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Error) {
      const extra = walk({ ...v }) as object;
      return { name: v.name, message: redactText(v.message), stack: redactText(v.stack ?? ""), ...extra };
    }
    if (v instanceof Date || v instanceof URL) return redactText(String(v));
    const out: Record<string, unknown> = {};
    for (const [k, inner] of Object.entries(v)) {
      if (isSecretKey(k) && inner !== undefined && inner !== null && inner !== "") {
        collectStrings(inner, found);
        out[k] = REDACTED;
      } else {
        out[k] = walk(inner);
      }
    }
    return out;
  };
  return walk(value);
}

function collectStrings(v: unknown, found: Set<string>): void {
  if (typeof v === "string" || typeof v === "number") {
    const s = String(v);
    if (s.length >= 4) found.add(s);
  } else if (v !== null && typeof v === "object") {
    for (const inner of Object.values(v)) collectStrings(inner, found);
  }
}
