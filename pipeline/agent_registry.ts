/**
 * The registry of agent kinds: every agent module under `actors/agents/` whose `spec` is an
 * {@linkcode AgentKindSpec} (made with `defineAgent`) is a kind, named by `spec.name`. Nothing else names a
 * kind: adding one is adding its module (see docs/agents.md, "Adding an agent kind").
 *
 * Modules whose file name starts with `_` or ends with `_test.ts` are helpers and tests; a module that exports
 * no `spec` (an error class, say) is not an agent. A module that exports an agent `spec` without a `role` is
 * an agent written to the old contract and fails the registry, naming what to add.
 *
 * @module
 */
import { type AgentKindSpec, type AgentModule, assertAgentModule } from "../actors/runtime/agent_spec.ts";

/** One agent kind: its spec and the module the Worker loads. */
export interface AgentKind {
  readonly spec: AgentKindSpec;
  readonly module: URL;
}

/** The kinds, by the name `agents.<id>.kind` uses. */
export interface AgentRegistry {
  /** The kind of that name, or undefined. */
  get(name: string): AgentKind | undefined;
  /** Every kind, sorted by name. */
  readonly kinds: readonly AgentKind[];
}

/** Where the agent modules are. */
export const AGENTS_DIR: URL = new URL("../actors/agents/", import.meta.url);

const ROLES = ["source", "consumer", "both"];
const loaded = new Map<string, Promise<AgentRegistry>>();

/**
 * Loads (once per folder) every agent kind of a folder of agent modules.
 *
 * @param dir The folder; {@linkcode AGENTS_DIR} by default.
 * @returns The registry.
 * @throws {TypeError} When a module breaks the agent-kind contract (no role, no summary, no handler for its
 *   role) or two modules declare the same name.
 * @example
 * ```ts
 * const registry = await loadAgentRegistry();
 * registry.get("synthetic")?.spec.role; // "source"
 * ```
 */
export function loadAgentRegistry(dir: URL = AGENTS_DIR): Promise<AgentRegistry> {
  let registry = loaded.get(dir.href);
  if (!registry) {
    registry = discover(dir);
    registry.catch(() => loaded.delete(dir.href));
    loaded.set(dir.href, registry);
  }
  return registry;
}

async function discover(dir: URL): Promise<AgentRegistry> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const { name } = entry;
    if (entry.isFile && name.endsWith(".ts") && !name.startsWith("_") && !name.endsWith("_test.ts")) {
      files.push(name);
    }
  }
  const byName = new Map<string, AgentKind>();
  for (const file of files.sort()) {
    const module = new URL(file, dir);
    const mod = await import(module.href) as Record<string, unknown>;
    if (mod.spec === undefined) continue;
    const spec = assertAgentKind(file, assertAgentModule(mod));
    const other = byName.get(spec.name);
    if (other) {
      throw new TypeError(
        `Cannot register agent kind "${spec.name}" of ${file}: ${other.module.pathname} declares it too`,
      );
    }
    byName.set(spec.name, { spec, module });
  }
  const kinds = [...byName.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  return { get: (name) => byName.get(name), kinds };
}

/** Checks what an agent kind adds to the agent-module contract. */
function assertAgentKind(file: string, mod: AgentModule): AgentKindSpec {
  const spec = mod.spec as Partial<AgentKindSpec>;
  const fail = (what: string) => {
    throw new TypeError(
      `Cannot register agent kind "${spec.name}" of ${file}: ${what} ` +
        `(declare it with defineAgent; see docs/agents.md, "Adding an agent kind")`,
    );
  };
  if (!ROLES.includes(spec.role as string)) fail(`spec.role must be one of ${ROLES.join(", ")}`);
  if (typeof spec.summary !== "string" || spec.summary === "") fail("spec.summary is missing");
  if (spec.role !== "consumer" && typeof mod.run !== "function") fail(`a ${spec.role} must export run()`);
  if (spec.role !== "source" && typeof mod.receive !== "function") {
    fail(`a ${spec.role} must export receive()`);
  }
  return spec as AgentKindSpec;
}
