/**
 * Carries out a topic plan.
 *
 * @module
 */
import type { TopicAdmin } from "../types.ts";
import { riskyChanges, type TopicChange, type TopicPlan } from "./topic_plan.ts";

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

/** A plan holds risky config changes and `allowRiskyChanges` was not given; nothing was applied. */
export class RiskyTopicChangeError extends Error {
  override name = "RiskyTopicChangeError";
  readonly retriable = false;
  readonly risky: Extract<TopicChange, { kind: "risky-config" }>[];
  constructor(risky: Extract<TopicChange, { kind: "risky-config" }>[]) {
    super(
      `Not applying the topic plan (nothing was changed): it changes ${
        risky.map((r) =>
          r.changes.map((c) => `${r.topic} ${c.key} ${c.from ?? "(unset)"} -> ${c.to}`).join(", ")
        )
          .join(", ")
      }, which is risky (${risky.map((r) => r.reason).join("; ")}).\n` +
        `Apply it with --allow-risky-changes, or declare the topic's current value to keep it.`,
    );
    this.risky = risky;
  }
}

/** Options of {@link applyTopics}. */
export interface ApplyTopicsOptions {
  /** Apply `risky-config` changes too (default `false`: a plan with one throws {@link RiskyTopicChangeError}). */
  allowRiskyChanges?: boolean;
}

/** What `applyTopics` did. */
export interface ApplyResult {
  created: string[];
  partitionsAdded: string[];
  configAltered: string[];
}

/**
 * Applies a plan: creates topics, raises partition counts, sets config keys. A plan with a refused change, or
 * with a risky config change unless `allowRiskyChanges`, is not applied at all.
 *
 * @throws {TopicChangeRefusedError} if the plan holds a refused change (before anything is changed)
 * @throws {RiskyTopicChangeError} if it holds a risky change and `allowRiskyChanges` is not set (idem)
 *
 * @example
 * ```ts
 * const plan = await planTopics(declaredTopics(config.topics), connector.admin);
 * await applyTopics(plan, connector.admin);
 * ```
 */
export async function applyTopics(
  plan: TopicPlan,
  admin: TopicAdmin,
  options: ApplyTopicsOptions = {},
): Promise<ApplyResult> {
  const refused = plan.changes.filter((c): c is Extract<TopicChange, { kind: "refused" }> =>
    c.kind === "refused"
  );
  if (refused.length > 0) throw new TopicChangeRefusedError(refused);
  const risky = riskyChanges(plan);
  if (risky.length > 0 && !options.allowRiskyChanges) throw new RiskyTopicChangeError(risky);
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
    } else if (c.kind === "alter-config" || c.kind === "risky-config") {
      await admin.alterTopicConfig(c.topic, Object.fromEntries(c.changes.map((k) => [k.key, k.to])));
      result.configAltered.push(c.topic);
    }
  }
  return result;
}
