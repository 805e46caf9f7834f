/**
 * Prints a topic plan as a readable diff.
 *
 * @module
 */
import { RISKY_TOPIC_CONFIG, type TopicPlan } from "./topic_plan.ts";

/**
 * Formats a plan: `+` create, `~` change, `!~` risky change (applied only with `--allow-risky-changes`),
 * `!` refused, `=` unchanged, and a summary line.
 *
 * @example
 * ```text
 * + market.ticks: create (partitions 6, replication 1, cleanup.policy=delete, compression.type=lz4)
 * ~ market.bars: partitions 3 -> 6
 * ~ market.bars: retention.ms 86400000 -> 604800000
 * !~ market.bars: compression.type producer -> lz4 (risky: new batches are stored in another codec, ...)
 * ! market.trades: REFUSED: cannot reduce partitions from 6 to 3: ...
 * = market.alerts: unchanged
 * Plan: 1 to create, 1 to change, 1 unchanged, 1 refused, 1 risky (needs --allow-risky-changes).
 * ```
 */
export function formatTopicPlan(plan: TopicPlan): string {
  const lines: string[] = [];
  const created = new Set<string>();
  const changed = new Set<string>();
  const unchanged = new Set<string>();
  const refused = new Set<string>();
  const risky = new Set<string>();
  for (const c of plan.changes) {
    switch (c.kind) {
      case "create": {
        created.add(c.topic);
        const cfg = Object.entries(c.desired.config).map(([k, v]) => `${k}=${v}`);
        lines.push(
          `+ ${c.topic}: create (partitions ${c.desired.partitions}, replication ${c.desired.replicationFactor}` +
            `${cfg.length > 0 ? ", " + cfg.join(", ") : ""})`,
        );
        break;
      }
      case "add-partitions":
        changed.add(c.topic);
        lines.push(`~ ${c.topic}: partitions ${c.from} -> ${c.to}`);
        break;
      case "alter-config":
        changed.add(c.topic);
        for (const k of c.changes) lines.push(`~ ${c.topic}: ${k.key} ${k.from ?? "(unset)"} -> ${k.to}`);
        break;
      case "risky-config":
        risky.add(c.topic);
        for (const k of c.changes) {
          lines.push(
            `!~ ${c.topic}: ${k.key} ${k.from ?? "(unset)"} -> ${k.to} (risky: ${RISKY_TOPIC_CONFIG[k.key]})`,
          );
        }
        break;
      case "refused":
        refused.add(c.topic);
        lines.push(`! ${c.topic}: REFUSED: ${c.reason}`);
        break;
      case "unchanged":
        unchanged.add(c.topic);
        lines.push(`= ${c.topic}: unchanged`);
        break;
    }
  }
  for (const t of refused) changed.delete(t);
  lines.push(
    `Plan: ${created.size} to create, ${changed.size} to change, ${unchanged.size} unchanged, ` +
      `${refused.size} refused` +
      (risky.size > 0 ? `, ${risky.size} risky (needs --allow-risky-changes).` : "."),
  );
  return lines.join("\n");
}
