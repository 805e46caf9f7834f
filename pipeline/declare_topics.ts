/**
 * What a starting node does with the declared topics: creates missing ones, adds partitions and sets safe config
 * keys, but never applies a risky change (an existing Kafka topic's `compression.type` or `cleanup.policy`): it
 * logs it, naming `topics apply --allow-risky-changes`, and starts with the topic as it is.
 *
 * @module
 */
import {
  applyTopics,
  type DeclaredTopicConfig,
  declaredTopics,
  formatTopicPlan,
  planHasChanges,
  planTopics,
  riskyChanges,
  riskyTopicConfigFor,
  type TopicChange,
  withoutRiskyChanges,
} from "../connector/topics/mod.ts";
import type { StreamConnector } from "../connector/types.ts";
import { getLogger } from "../core/log.ts";

const log = getLogger("pipeline");

/**
 * Plans the declared topics against the log and applies the plan without its risky changes.
 *
 * @returns the risky changes that were held back (each also logged as a warning)
 * @throws {TopicChangeRefusedError} if the plan holds a refused change (nothing is changed)
 */
export async function declareTopics(
  topics: Record<string, DeclaredTopicConfig>,
  connector: Pick<StreamConnector, "admin" | "kind">,
): Promise<Extract<TopicChange, { kind: "risky-config" }>[]> {
  const { admin } = connector;
  const full = await planTopics(declaredTopics(topics), admin, {
    risky: riskyTopicConfigFor(connector.kind),
  });
  const held = riskyChanges(full);
  for (const change of held) {
    log.warn(
      "topics: not applying the risky change of {topic} ({changes}): {reason}. The node runs with the topic " +
        "as it is; run `deno task topics apply --allow-risky-changes` to apply it, or declare the current value",
      {
        topic: change.topic,
        changes: change.changes.map((c) => `${c.key} ${c.from ?? "(unset)"} -> ${c.to}`).join(", "),
        reason: change.reason,
      },
    );
  }
  const plan = withoutRiskyChanges(full);
  if (planHasChanges(plan) || plan.changes.some((c) => c.kind === "refused")) {
    log.info("topics: {plan}", { plan: formatTopicPlan(plan) });
    await applyTopics(plan, admin);
  }
  return held;
}
