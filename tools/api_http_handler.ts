/**
 * `/api/*` behind the same bearer tokens and roles as `/mcp`. Each endpoint names the tool whose permission it
 * needs (`/api/tree` shows what `supervision.tree` shows, so a token may read it exactly when its role may call
 * that tool): one role table for both doors. Without a token: 401; with a token whose role does not allow it:
 * 403; an unknown path: 404 (after authentication, so the endpoint list is not public either). A path may hold
 * `{name}` segments (`/api/agents/{agent}/pause`), given to the handler decoded; each endpoint answers one method
 * (GET by default), another gets 405.
 *
 * @module
 */
import { authenticateBearer, type McpToken, unauthorized } from "./bearer_auth.ts";
import { isToolAllowed, rolePatterns } from "./tool_access.ts";

/** What an endpoint's handler learns besides the request. */
export interface ApiCallContext {
  /** Who is calling: `http:<token name>`. */
  caller: string;
  /** The role of the caller's token. */
  role: string;
  /** The `{name}` segments of the path, decoded. */
  params: Record<string, string>;
}

/** One `/api` endpoint. */
export interface ApiEndpoint {
  /** The path, e.g. `/api/tree` or `/api/agents/{agent}/pause`. */
  path: string;
  /** Default `GET`. */
  method?: "GET" | "POST";
  /** The tool whose permission a token needs to call it, e.g. `supervision.tree`. */
  permission: string;
  /** Answers the request. */
  handle(request: Request, ctx: ApiCallContext): Response | Promise<Response>;
}

/** The `{name}` segments of `path` when it matches `pattern`, else undefined. */
function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const m = /^\{(\w+)\}$/.exec(w);
    if (m) {
      if (got[i] === "") return undefined;
      try {
        params[m[1]!] = decodeURIComponent(got[i]!);
      } catch {
        return undefined;
      }
    } else if (w !== got[i]) return undefined;
  }
  return params;
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
    const matches = options.endpoints.flatMap((e) => {
      const params = matchPath(e.path, path);
      return params ? [{ e, params }] : [];
    });
    if (matches.length === 0) {
      const known = [...new Set(options.endpoints.map((e) => e.path))].join(", ");
      return Response.json({ error: `no such endpoint: ${path} (try ${known})` }, { status: 404 });
    }
    const match = matches.find((m) => (m.e.method ?? "GET") === request.method) ?? matches[0]!;
    const endpoint = match.e;
    if (!isToolAllowed(rolePatterns(auth.role, roles), endpoint.permission)) {
      return Response.json(
        {
          error: `forbidden: role "${auth.role}" of token "${auth.name}" may not ${
            (endpoint.method ?? "GET") === "GET" ? "read" : "call"
          } ${path}`,
        },
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
    return await endpoint.handle(request, {
      caller: `http:${auth.name}`,
      role: auth.role,
      params: match.params,
    });
  };
}
