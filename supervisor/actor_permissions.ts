/**
 * Maps an agent's declared permissions to the Deno Worker permission object, every kind stated.
 *
 * The Worker's bootstrap is a `data:` module that statically imports the runtime and the agent module; Deno loads
 * a static module graph without checking `read` or `import`, so an agent needs no `read` of its own source or of
 * the npm cache. `import` is always `false`: an agent cannot load code at run time.
 *
 * @module
 */
import type { AgentPermissions } from "../actors/runtime/agent_spec.ts";

/** The exact `deno.permissions` object a Worker is created with. */
export interface WorkerPermissions {
  net: string[] | false;
  read: string[] | false;
  write: string[] | false;
  env: string[] | false;
  run: string[] | false;
  ffi: string[] | false;
  sys: string[] | false;
  import: false;
}

/**
 * Builds the Worker permissions for a spec: a declared non-empty list is granted as is, anything else is denied.
 *
 * @param declared The spec's `permissions`.
 * @returns Every permission kind, stated.
 * @example
 * ```ts
 * workerPermissions({ net: ["api.example.com:443"] });
 * // { net: ["api.example.com:443"], read: false, write: false, env: false, run: false, ffi: false, sys: false, import: false }
 * ```
 */
export function workerPermissions(declared: AgentPermissions = {}): WorkerPermissions {
  const grant = (list: string[] | undefined) => (list && list.length > 0 ? [...list] : false as const);
  return {
    net: grant(declared.net),
    read: grant(declared.read),
    write: grant(declared.write),
    env: grant(declared.env),
    run: grant(declared.run),
    ffi: grant(declared.ffi),
    sys: grant(declared.sys),
    import: false,
  };
}

/**
 * The union of permission lists: the agent's own spec and what the operator grants it in the pipeline file
 * (e.g. the API host of a configured base URL, or a replay file).
 */
export function mergePermissions(...sets: (AgentPermissions | undefined)[]): AgentPermissions {
  const merged: Record<string, string[]> = {};
  for (const set of sets) {
    for (const [kind, list] of Object.entries(set ?? {})) {
      if (!list || list.length === 0) continue;
      merged[kind] = [...new Set([...(merged[kind] ?? []), ...list])];
    }
  }
  return merged as AgentPermissions;
}
