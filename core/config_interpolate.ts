/**
 * `${ENV}` / `${ENV:-default}` interpolation of string scalars in a parsed configuration document.
 *
 * @module
 */
import type { ConfigProblem } from "./config_error.ts";
import { formatConfigPath } from "./_config_path.ts";

/** Result of {@link interpolateEnv}. */
export interface InterpolationResult {
  /** A copy of the input with every reference replaced. */
  readonly value: unknown;
  /** One problem per unset variable without a default. */
  readonly problems: ConfigProblem[];
  /** Paths (as `formatConfigPath` renders them) of every string that contained a reference. */
  readonly interpolated: Set<string>;
}

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string scalar of `doc` (object keys are left alone).
 * `${NAME:-default}` uses the default when NAME is unset or empty; `$$` is a literal `$`.
 * An unset `${NAME}` without default is reported as a problem naming the field path and the variable.
 *
 * @param doc the parsed YAML document
 * @param env the variable lookup, e.g. `(n) => Deno.env.get(n)`
 * @returns the interpolated copy, the problems and which paths were interpolated
 *
 * @example
 * ```ts
 * const r = interpolateEnv({ url: "${DATABASE_URL:-postgres://localhost/q}" }, () => undefined);
 * // r.value = { url: "postgres://localhost/q" }
 * ```
 */
export function interpolateEnv(
  doc: unknown,
  env: (name: string) => string | undefined,
): InterpolationResult {
  const problems: ConfigProblem[] = [];
  const interpolated = new Set<string>();
  const walk = (value: unknown, path: PropertyKey[]): unknown => {
    if (typeof value === "string") {
      if (!value.includes("$")) return value;
      let touched = false;
      const out = value.replace(
        REFERENCE,
        (match, name: string | undefined, fallback: string | undefined) => {
          if (match === "$$") return "$";
          touched = true;
          const found = env(name!);
          if (fallback !== undefined) return found === undefined || found === "" ? fallback : found;
          if (found === undefined) {
            problems.push({
              path: formatConfigPath(path),
              message: `environment variable ${name} is not set (use \${${name}:-default} to give a default)`,
            });
            return "";
          }
          return found;
        },
      );
      if (touched) interpolated.add(formatConfigPath(path));
      return out;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };
  return { value: walk(doc, []), problems, interpolated };
}
