/**
 * Streamable HTTP at `/mcp` for MCP clients outside the process, on the SDK's web-standard transport
 * (`WebStandardStreamableHTTPServerTransport`, `Request` → `Response`, so it mounts on `Deno.serve` through
 * core's HTTP server).
 *
 * Every request is checked in this order:
 * 1. DNS-rebinding protection: the `Host` header must be in `allowedHosts` (when configured), and an `Origin`
 *    header, when present, must be in `allowedOrigins` — or, when that list is not configured, be the request's
 *    own origin. Otherwise 403.
 * 2. `Authorization: Bearer <token>` must match a configured token (compared in constant time). Otherwise 401
 *    with `WWW-Authenticate: Bearer realm="qistream"` (and `error="invalid_token"` for a wrong token). With no
 *    tokens configured, every request gets 401.
 * 3. The token's role gives the allow-list (`rolesOf(tools)` unless `roles` is given); the caller is
 *    `http:<token name>`.
 *
 * The server is stateless (no `Mcp-Session-Id`): each POST gets a fresh MCP server bound to its caller, and JSON
 * responses (no SSE). GET and DELETE answer 405, which the SDK client accepts.
 *
 * @module
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { authenticateBearer, type McpToken, unauthorized } from "./bearer_auth.ts";
import { rolePatterns, rolesOf } from "./tool_access.ts";
import type { AnyToolDefinition } from "./tool_definition.ts";
import { createToolServer } from "./tool_server.ts";

export type { McpToken };

/** Options of {@linkcode createMcpHttpHandler}. */
export interface McpHttpOptions {
  /** The tool catalogue. */
  tools: readonly AnyToolDefinition[];
  /** Accepted tokens. */
  tokens: readonly McpToken[];
  /** Role → tool patterns; by default from each tool's `role` ({@linkcode rolesOf}). */
  roles?: Readonly<Record<string, readonly string[]>>;
  /** Accepted `Host` header values (`host` or `host:port`); any host when absent. */
  allowedHosts?: readonly string[];
  /** Accepted `Origin` values (e.g. `https://console.example.com`); same-origin only when absent. */
  allowedOrigins?: readonly string[];
  /** Largest request body in bytes (413 above it); default 16 MiB, room for a 50 000-row insert. */
  maxRequestBytes?: number;
}

function jsonRpcError(status: number, code: number, message: string, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function hostname(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  const colon = hostHeader.lastIndexOf(":");
  return colon >= 0 ? hostHeader.slice(0, colon) : hostHeader;
}

/**
 * Creates the `/mcp` handler.
 *
 * @param options Tools, tokens, roles and the Host/Origin allow-lists.
 * @returns A handler to mount on core's HTTP server.
 *
 * @example
 * ```ts
 * const http = startHttpServer({ host: "127.0.0.1", port: 8080 });
 * http.mount("/mcp", createMcpHttpHandler({ tools, tokens: config.mcp.tokens }));
 * ```
 */
export function createMcpHttpHandler(options: McpHttpOptions): (request: Request) => Promise<Response> {
  const roles = options.roles ?? rolesOf(options.tools);
  const hosts = options.allowedHosts?.map((h) => h.toLowerCase());
  const origins = options.allowedOrigins;

  return async (request) => {
    const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
    if (hosts && !hosts.includes(host) && !hosts.includes(hostname(host))) {
      return jsonRpcError(403, -32000, `Forbidden: host "${host}" is not allowed`);
    }
    const origin = request.headers.get("origin");
    if (origin !== null) {
      let allowed: boolean;
      if (origins) allowed = origins.includes(origin);
      else {
        try {
          allowed = new URL(origin).host.toLowerCase() === host;
        } catch {
          allowed = false;
        }
      }
      if (!allowed) return jsonRpcError(403, -32000, `Forbidden: origin "${origin}" is not allowed`);
    }

    const auth = authenticateBearer(request, options.tokens);
    if (auth === "missing" || auth === "invalid") {
      return unauthorized(auth, {
        jsonrpc: "2.0",
        error: { code: -32001, message: "Unauthorized: a valid bearer token is required" },
        id: null,
      });
    }

    if (request.method !== "POST") {
      return jsonRpcError(405, -32000, "Method not allowed: this server is stateless, use POST", {
        allow: "POST",
      });
    }

    const server = createToolServer({
      caller: `http:${auth.name}`,
      allow: rolePatterns(auth.role, roles),
      tools: options.tools,
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: options.maxRequestBytes ?? 16 << 20,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, {
        authInfo: { token: auth.token, clientId: auth.name, scopes: [auth.role] },
      });
    } finally {
      await server.close();
    }
  };
}
