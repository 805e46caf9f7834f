/**
 * Topics as code: declared topics → a plan of changes against a log's `TopicAdmin` → applied.
 *
 * @example
 * ```ts
 * const plan = await planTopics(declaredTopics(config.topics), connector.admin);
 * console.log(formatTopicPlan(plan));
 * await applyTopics(plan, connector.admin);
 * ```
 *
 * @module
 */
export {
  type ConfigChange,
  planHasChanges,
  planTopics,
  type PlanTopicsOptions,
  RISKY_TOPIC_CONFIG,
  riskyChanges,
  riskyTopicConfigFor,
  type TopicChange,
  type TopicPlan,
  withoutRiskyChanges,
} from "./topic_plan.ts";
export { type DeclaredTopicConfig, declaredTopics } from "./declared_topics.ts";
export { formatTopicPlan } from "./format_topic_plan.ts";
export {
  type ApplyResult,
  applyTopics,
  type ApplyTopicsOptions,
  RiskyTopicChangeError,
  TopicChangeRefusedError,
} from "./apply_topics.ts";
