/**
 * The start-time check of the tables a consuming agent writes: before any actor starts, the node resolves the
 * table of each topic the agent subscribes to (its config's `table` — the tick table — and `tables`, see
 * actors/agents/_table_sink.ts), refuses a table whose kind stores another schema than the topic carries, and
 * calls the `*.ensure_table` tools the agent may call for each table, on the main thread. A table in an older
 * layout (see tools/table_layout_error.ts) fails the start with the tool's message, which says how to migrate
 * it; a database that does not answer yet does not (the sink waits for it, as during any outage).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type SinkTable, sinkTables } from "../actors/agents/_table_sink.ts";
import type { AgentSpec } from "../actors/runtime/agent_spec.ts";
import type { AnyToolDefinition } from "../tools/mod.ts";
import { TABLE_KIND_SPECS } from "../tools/table_kinds/mod.ts";
import { tableLayoutErrorOf } from "../tools/table_layout_error.ts";

const log = getLogger(["qistream", "pipeline"]);

/** What the check needs to know about the agent's subscription. */
export interface AgentTopics {
  /** The topics it subscribes to. */
  topics: readonly string[];
  /** The value schema (a folder of `schemas/`) of a topic, when one is known. */
  schemaOf?: (topic: string) => string | undefined;
}

/**
 * The table of each subscribed topic, checked against the topics' schemas.
 *
 * @param config The agent's parsed config (`table`, `tables`).
 * @param subscription Its topics and their schemas.
 * @returns The distinct tables.
 * @throws {RangeError} Naming the config field when a table's kind stores another schema than its topic carries,
 *   or when one table is given two kinds.
 */
export function agentTables(
  config: { table: string; tables?: Record<string, SinkTable> },
  subscription: AgentTopics,
): SinkTable[] {
  const tables = sinkTables({ table: config.table, tables: config.tables ?? {} });
  const byName = new Map<string, SinkTable & { topic: string }>();
  for (const topic of subscription.topics) {
    const target = tables[topic] ?? tables["market.ticks"]!;
    const field = tables[topic] && config.tables?.[topic] ? `config.tables.${topic}` : "config.table";
    const schema = subscription.schemaOf?.(topic);
    const stores = TABLE_KIND_SPECS[target.kind].schema;
    if (schema && schema !== stores) {
      throw new RangeError(
        `${field}: topic ${topic} carries ${schema} records, but table ${target.table} is of kind ${target.kind} ` +
          `(${stores}); map the topic to a table of its kind in config.tables`,
      );
    }
    const same = byName.get(target.table);
    if (same && same.kind !== target.kind) {
      throw new RangeError(
        `${field}: table ${target.table} would be of kind ${target.kind} for ${topic} and ${same.kind} for ` +
          `${same.topic}; give them different tables`,
      );
    }
    byName.set(target.table, { ...target, topic });
  }
  return [...byName.values()].map(({ kind, table }) => ({ kind, table }));
}

/**
 * Ensures the agent's tables through each `*.ensure_table` tool in `allow`.
 *
 * @param tools The node's tool catalog.
 * @param allow The tools the agent may call.
 * @param spec The agent's spec (its config schema gives the tables' default names).
 * @param config The agent's raw config.
 * @param subscription The topics it reads and their schemas.
 * @param timeoutMs How long to wait for a database that does not answer before leaving it to the sink.
 * @throws {TableLayoutError} When a table exists in an older layout; nothing was changed.
 * @throws {RangeError} When a table's kind does not fit its topic (see {@linkcode agentTables}).
 */
export async function checkAgentTables(
  tools: readonly AnyToolDefinition[],
  allow: readonly string[],
  spec: AgentSpec,
  config: Record<string, unknown>,
  subscription: AgentTopics = { topics: [] },
  timeoutMs = 10_000,
): Promise<void> {
  const ensure = tools.filter((t) => t.name.endsWith(".ensure_table") && allow.includes(t.name));
  if (ensure.length === 0) return;
  const parsed = (spec.config ? spec.config.parse(config) : config) as {
    table?: unknown;
    tables?: Record<string, SinkTable>;
  };
  if (typeof parsed.table !== "string") return;
  const topics = subscription.topics.length ? subscription.topics : ["market.ticks"];
  const tables = agentTables({ table: parsed.table, tables: parsed.tables }, { ...subscription, topics });
  for (const tool of ensure) {
    for (const { kind, table } of tables) {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        await Promise.race([
          tool.handler(tool.inputSchema.parse({ kind, table }), { caller: "node", signal }),
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
}
