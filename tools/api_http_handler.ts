/**
 * `/api/*` behind the same bearer tokens and roles as `/mcp`. Each endpoint names the tool whose permission it
 * needs (`/api/tree` shows what `supervision.tree` shows, so a token may read it exactly when its role may call
 * that tool): one role table for both doors. Without a token: 401; with a token whose role does not allow it:
 * 403; an unknown path: 404 (after authentication, so the endpoint list is not public either).
 *
 * @module
 */
import { authenticateBearer, type McpToken, unauthorized } from "./bearer_auth.ts";
import { isToolAllowed, rolePatterns } from "./tool_access.ts";

/** One `/api` endpoint. */
export interface ApiEndpoint {
  /** The path, e.g. `/api/tree`. */
  path: string;
  /** The tool whose permission a token needs to call it, e.g. `supervision.tree`. */
  permission: string;
  /** The method it answers; default `GET`. */
  method?: "GET" | "POST";
  /** Answers the request; `caller` is `api:<token name>`. */
  handle(request: Request, caller?: string): Response | Promise<Response>;
}

/** Options of {@linkcode createApiHandler}. */
export interface ApiHttpOptions {
  endpoints: readonly ApiEndpoint[];
  tokens: readonly McpToken[];
  /** Role → tool patterns: the `/mcp` table (`rolesOf(tools)`), so an endpoint's permission is a tool's. */
  roles: Readonly<Record<string, readonly string[]>>;
}

/**
 * Creates the `/api` handler.
 *
 * @param options Endpoints, tokens and roles.
 * @returns A handler to mount on core's HTTP server at `/api`.
 *
 * @example
 * ```ts
 * http.mount("/api", createApiHandler({
 *   tokens: config.mcp.tokens,
 *   roles: rolesOf(tools),
 *   endpoints: [{ path: "/api/tree", permission: "supervision.tree", handle: () => Response.json(tree()) }],
 * }));
 * ```
 */
export function createApiHandler(options: ApiHttpOptions): (request: Request) => Promise<Response> {
  const { roles } = options;
  return async (request) => {
    const auth = authenticateBearer(request, options.tokens);
    if (auth === "missing" || auth === "invalid") {
      return unauthorized(auth, {
        error: "unauthorized: a valid bearer token is required (the /mcp tokens)",
      });
    }
    const path = new URL(request.url).pathname;
    const endpoint = options.endpoints.find((e) => e.path === path);
    if (!endpoint) {
      const known = options.endpoints.map((e) => e.path).join(", ");
      return Response.json({ error: `no such endpoint: ${path} (try ${known})` }, { status: 404 });
    }
    if (!isToolAllowed(rolePatterns(auth.role, roles), endpoint.permission)) {
      return Response.json(
        { error: `forbidden: role "${auth.role}" of token "${auth.name}" may not read ${path}` },
        { status: 403 },
      );
    }
    const method = endpoint.method ?? "GET";
    if (request.method !== method) {
      return Response.json({ error: `method not allowed: use ${method}` }, {
        status: 405,
        headers: { allow: method },
      });
    }
    return await endpoint.handle(request, `api:${auth.name}`);
  };
}
