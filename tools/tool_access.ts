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

/** The `/mcp` roles (`mcp.tokens[].role`), each allowed what the ones before it are, and more. */
export const TOOL_ROLES = ["reader", "writer", "admin"] as const;

/** One of {@linkcode TOOL_ROLES}. */
export type ToolRole = typeof TOOL_ROLES[number];

/**
 * The role table of a catalogue, from each tool's own `role`: `reader` may call the tools whose role is
 * `reader` (read-only ones); `writer` also those whose role is `writer` (writing to the databases,
 * publishing); `admin` may call everything (including `supervision.restart`).
 *
 * @param tools The tools, with their `role` (a tool without one is `admin`-only).
 * @returns Role → exact tool names (`["*"]` for admin).
 * @example
 * ```ts
 * const roles = rolesOf(declaredTools());
 * isToolAllowed(rolePatterns("reader", roles), "postgres.query"); // true
 * ```
 */
export function rolesOf(
  tools: readonly { name: string; role?: ToolRole }[],
): Readonly<Record<ToolRole, readonly string[]>> {
  const upTo = (max: number) =>
    tools.filter((t) => TOOL_ROLES.indexOf(t.role ?? "admin") <= max).map((t) => t.name);
  return { reader: upTo(0), writer: upTo(1), admin: ["*"] };
}

/**
 * The tool patterns of an HTTP role.
 *
 * @param role The token's role.
 * @param roles Role table, e.g. {@linkcode rolesOf} the catalogue.
 * @returns The patterns; an unknown role gets none (every call is refused).
 */
export function rolePatterns(
  role: string,
  roles: Readonly<Record<string, readonly string[]>>,
): readonly string[] {
  return Object.hasOwn(roles, role) ? roles[role]! : [];
}
