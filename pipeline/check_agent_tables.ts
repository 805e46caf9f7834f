/**
 * The start-time check of the tables a consuming agent writes: before any actor starts, the node calls the
 * `*.ensure_table` tools the agent may call, for the agent's `table`, on the main thread. A table in an older
 * layout (see tools/table_layout_error.ts) fails the start with the tool's message, which says how to migrate
 * it; a database that does not answer yet does not (the sink waits for it, as during any outage).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { AgentSpec } from "../actors/runtime/agent_spec.ts";
import type { AnyToolDefinition } from "../tools/mod.ts";
import { tableLayoutErrorOf } from "../tools/table_layout_error.ts";

const log = getLogger(["qistream", "pipeline"]);

/**
 * Ensures the agent's table through each `*.ensure_table` tool in `allow`.
 *
 * @param tools The node's tool catalog.
 * @param allow The tools the agent may call.
 * @param spec The agent's spec (its config schema gives the table's default name).
 * @param config The agent's raw config.
 * @param timeoutMs How long to wait for a database that does not answer before leaving it to the sink.
 * @throws {TableLayoutError} When a table exists in an older layout; nothing was changed.
 */
export async function checkAgentTables(
  tools: readonly AnyToolDefinition[],
  allow: readonly string[],
  spec: AgentSpec,
  config: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<void> {
  const ensure = tools.filter((t) => t.name.endsWith(".ensure_table") && allow.includes(t.name));
  if (ensure.length === 0) return;
  const parsed = spec.config ? spec.config.parse(config) : config;
  const table = (parsed as { table?: unknown }).table;
  if (typeof table !== "string") return;
  for (const tool of ensure) {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await Promise.race([
        tool.handler(tool.inputSchema.parse({ kind: "tick", table }), { caller: "node", signal }),
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
      ]);
    } catch (error) {
      const layout = tableLayoutErrorOf(error);
      if (layout) throw layout;
      log.warn("{tool} for table {table} failed at start; the sink will retry: {error}", {
        tool: tool.name,
        table,
        error: String(error),
      });
    }
  }
}
