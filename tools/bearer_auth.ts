/**
 * Bearer-token authentication shared by `/mcp` and `/api`: `Authorization: Bearer <token>` compared in constant
 * time against the configured tokens, and the 401 answer with its `WWW-Authenticate` challenge.
 *
 * @module
 */

/** One bearer token (the `mcp.tokens` entries of the configuration). */
export interface McpToken {
  /** Who holds it; the caller becomes `http:<name>` in logs and metrics. */
  name: string;
  /** The secret. */
  token: string;
  /** Role, mapped to tool patterns by the role table. */
  role: string;
}

const encoder = new TextEncoder();

function safeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * Finds the token a request carries.
 *
 * @param request The request.
 * @param tokens Accepted tokens.
 * @returns The token, `"missing"` without a bearer header, `"invalid"` for an unknown token.
 */
export function authenticateBearer(
  request: Request,
  tokens: readonly McpToken[],
): McpToken | "missing" | "invalid" {
  const header = request.headers.get("authorization");
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return "missing";
  let found: McpToken | undefined;
  for (const t of tokens) if (safeEqual(t.token, m[1]!) && !found) found = t;
  return found ?? "invalid";
}

/**
 * The 401 answer to a request without a valid token.
 *
 * @param auth Why it failed.
 * @param body The JSON body.
 * @returns The response, with `WWW-Authenticate: Bearer realm="qistream"` (and `error="invalid_token"`).
 */
export function unauthorized(auth: "missing" | "invalid", body: unknown): Response {
  const challenge = auth === "missing"
    ? 'Bearer realm="qistream"'
    : 'Bearer realm="qistream", error="invalid_token", error_description="unknown bearer token"';
  return Response.json(body, { status: 401, headers: { "www-authenticate": challenge } });
}
