/**
 * Allow-lists of tool names. A pattern is an exact name (`postgres.insert_rows`), a namespace wildcard
 * (`postgres.*`) or `*` (everything). HTTP roles map to pattern lists; actors bring their own list (their spec's
 * `tools`).
 *
 * @module
 */

/**
 * Whether `tool` matches one of `patterns`.
 *
 * @param patterns Exact names, `namespace.*` or `*`.
 * @param tool A tool name.
 * @returns true when allowed.
 *
 * @example
 * ```ts
 * isToolAllowed(["postgres.*"], "postgres.query"); // true
 * isToolAllowed(["postgres.*"], "clickhouse.query"); // false
 * ```
 */
export function isToolAllowed(patterns: readonly string[], tool: string): boolean {
  for (const p of patterns) {
    if (p === "*" || p === tool) return true;
    if (p.endsWith(".*") && tool.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

/**
 * Default role → tool patterns for `/mcp` tokens (`mcp.tokens[].role` in the configuration):
 * `reader` may only call read-only tools; `writer` may also write to the databases and publish; `admin` may
 * call everything (including `supervision.restart` and the `lifecycle.*` commands).
 */
export const DEFAULT_ROLES: Readonly<Record<string, readonly string[]>> = {
  reader: [
    "postgres.query",
    "postgres.describe",
    "clickhouse.query",
    "clickhouse.describe",
    "stream.list_topics",
    "stream.topic_stats",
    "supervision.tree",
    "supervision.cluster",
    "lifecycle.agents",
    "deadletters.list",
    "deadletters.show",
  ],
  writer: [
    "postgres.*",
    "clickhouse.*",
    "stream.*",
    "supervision.tree",
    "supervision.cluster",
    "lifecycle.agents",
    "deadletters.*",
  ],
  admin: ["*"],
};

/**
 * The tool patterns of an HTTP role.
 *
 * @param role The token's role.
 * @param roles Role table; {@linkcode DEFAULT_ROLES} by default.
 * @returns The patterns; an unknown role gets none (every call is refused).
 */
export function rolePatterns(
  role: string,
  roles: Readonly<Record<string, readonly string[]>> = DEFAULT_ROLES,
): readonly string[] {
  return Object.hasOwn(roles, role) ? roles[role]! : [];
}
