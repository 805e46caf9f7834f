/**
 * Carries out a topic plan.
 *
 * @module
 */
import type { TopicAdmin } from "../types.ts";
import type { TopicChange, TopicPlan } from "./topic_plan.ts";

/** A plan holds refused changes; nothing was applied. */
export class TopicChangeRefusedError extends Error {
  override name = "TopicChangeRefusedError";
  readonly retriable = false;
  readonly refused: Extract<TopicChange, { kind: "refused" }>[];
  constructor(refused: Extract<TopicChange, { kind: "refused" }>[]) {
    super(
      `Refusing to apply the topic plan (nothing was changed):\n` +
        refused.map((r) => `  ${r.topic}: ${r.reason}`).join("\n"),
    );
    this.refused = refused;
  }
}

/** What `applyTopics` did. */
export interface ApplyResult {
  created: string[];
  partitionsAdded: string[];
  configAltered: string[];
}

/**
 * Applies a plan: creates topics, raises partition counts, sets config keys. A plan with a refused change is not
 * applied at all.
 *
 * @throws {TopicChangeRefusedError} if the plan holds a refused change (before anything is changed)
 *
 * @example
 * ```ts
 * const plan = await planTopics(declaredTopics(config.topics), connector.admin);
 * await applyTopics(plan, connector.admin);
 * ```
 */
export async function applyTopics(plan: TopicPlan, admin: TopicAdmin): Promise<ApplyResult> {
  const refused = plan.changes.filter((c): c is Extract<TopicChange, { kind: "refused" }> =>
    c.kind === "refused"
  );
  if (refused.length > 0) throw new TopicChangeRefusedError(refused);
  const result: ApplyResult = { created: [], partitionsAdded: [], configAltered: [] };
  const creates = plan.changes.flatMap((c) => c.kind === "create" ? [c.desired] : []);
  if (creates.length > 0) {
    await admin.createTopics(creates);
    result.created.push(...creates.map((t) => t.name));
  }
  for (const c of plan.changes) {
    if (c.kind === "add-partitions") {
      await admin.createPartitions(c.topic, c.to);
      result.partitionsAdded.push(c.topic);
    } else if (c.kind === "alter-config") {
      await admin.alterTopicConfig(c.topic, Object.fromEntries(c.changes.map((k) => [k.key, k.to])));
      result.configAltered.push(c.topic);
    }
  }
  return result;
}
