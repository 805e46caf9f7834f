/**
 * Topics as code: the difference between the topics a configuration declares and the topics a log has, as a
 * list of changes `applyTopics` can carry out.
 *
 * @module
 */
import type { TopicAdmin, TopicDescription } from "../types.ts";

/** One change of a plan. A topic may have several (more partitions and a config change). */
export type TopicChange =
  | { kind: "create"; topic: string; desired: TopicDescription }
  | { kind: "add-partitions"; topic: string; from: number; to: number }
  | { kind: "alter-config"; topic: string; changes: ConfigChange[] }
  | { kind: "risky-config"; topic: string; changes: ConfigChange[]; reason: string }
  | { kind: "refused"; topic: string; reason: string }
  | { kind: "unchanged"; topic: string };

/** One config key that differs; `from` is absent when the log does not report the key. */
export interface ConfigChange {
  key: string;
  from?: string;
  to: string;
}

/**
 * Config keys whose change on an existing topic can break its readers or delete data, with why. Such changes
 * are planned as `risky-config` and applied only when asked for explicitly (`topics apply --allow-risky-changes`).
 */
export const RISKY_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  "compression.type": "new batches are stored in another codec, which consumers without it cannot read",
  "cleanup.policy":
    "the broker starts deleting records by another rule (compaction keeps only the last per key)",
};

/**
 * The risky config keys on a log of the given connector kind: {@link RISKY_TOPIC_CONFIG} on Kafka, none on the
 * embedded log, which stores records as they are (no codec) and does not compact (see docs/embedded-log.md).
 */
export function riskyTopicConfigFor(kind: string): Readonly<Record<string, string>> {
  return kind === "embedded" ? {} : RISKY_TOPIC_CONFIG;
}

/** Options of {@link planTopics}. */
export interface PlanTopicsOptions {
  /** Keys planned as `risky-config` when they change on an existing topic; default {@link RISKY_TOPIC_CONFIG}. */
  risky?: Readonly<Record<string, string>>;
}

/** A plan: its changes, in declaration order. */
export interface TopicPlan {
  changes: TopicChange[];
}

/**
 * Compares declared topics with what the log has.
 *
 * Creating topics, raising partition counts and setting the declared config keys are planned; fewer partitions
 * than the topic has, or a different replication factor, are `refused` with the reason (Kafka cannot remove
 * partitions; replication changes need a reassignment). A change of a {@link RISKY_TOPIC_CONFIG} key on an
 * existing topic is a separate `risky-config` change. Config keys not declared are left alone, and topics the
 * log has but the configuration does not declare are not touched.
 *
 * @param declared the topics as they should be (see `declaredTopics`)
 * @param admin the log's topic admin
 * @param options which keys are risky (see {@link riskyTopicConfigFor})
 * @returns the plan; `unchanged` entries say a topic already matches
 * @throws {TypeError} if a topic is declared twice or a partition count is not a positive integer
 *
 * @example
 * ```ts
 * const plan = await planTopics(declaredTopics(config.topics), connector.admin);
 * console.log(formatTopicPlan(plan));
 * ```
 */
export async function planTopics(
  declared: TopicDescription[],
  admin: TopicAdmin,
  options: PlanTopicsOptions = {},
): Promise<TopicPlan> {
  const risky = options.risky ?? RISKY_TOPIC_CONFIG;
  const seen = new Set<string>();
  for (const d of declared) {
    if (seen.has(d.name)) throw new TypeError(`Cannot plan topics: "${d.name}" is declared twice`);
    seen.add(d.name);
    if (!Number.isInteger(d.partitions) || d.partitions < 1) {
      throw new TypeError(
        `Cannot plan topic "${d.name}": partitions is ${d.partitions}, expected an integer >= 1`,
      );
    }
  }
  const existing = new Map(
    (declared.length > 0 ? await admin.describeTopics(declared.map((d) => d.name)) : []).map((
      t,
    ) => [t.name, t]),
  );
  const changes: TopicChange[] = [];
  for (const want of declared) {
    const have = existing.get(want.name);
    if (!have) {
      changes.push({ kind: "create", topic: want.name, desired: want });
      continue;
    }
    const before = changes.length;
    if (want.partitions < have.partitions) {
      changes.push({
        kind: "refused",
        topic: want.name,
        reason:
          `cannot reduce partitions from ${have.partitions} to ${want.partitions}: Kafka cannot remove ` +
          `partitions (declare ${have.partitions} or more, or delete and recreate the topic, losing its data)`,
      });
    } else if (want.partitions > have.partitions) {
      changes.push({ kind: "add-partitions", topic: want.name, from: have.partitions, to: want.partitions });
    }
    if (want.replicationFactor !== have.replicationFactor) {
      changes.push({
        kind: "refused",
        topic: want.name,
        reason: `cannot change the replication factor from ${have.replicationFactor} to ` +
          `${want.replicationFactor}: that needs a partition reassignment (kafka-reassign-partitions)`,
      });
    }
    const configChanges: ConfigChange[] = [];
    const riskyChanges: ConfigChange[] = [];
    for (const [key, to] of Object.entries(want.config)) {
      const from = have.config[key];
      if (from === to) continue;
      (key in risky ? riskyChanges : configChanges).push(
        from === undefined ? { key, to } : { key, from, to },
      );
    }
    if (configChanges.length > 0) {
      changes.push({ kind: "alter-config", topic: want.name, changes: configChanges });
    }
    if (riskyChanges.length > 0) {
      changes.push({
        kind: "risky-config",
        topic: want.name,
        changes: riskyChanges,
        reason: riskyChanges.map((c) => `${c.key}: ${risky[c.key]}`).join("; "),
      });
    }
    if (changes.length === before) changes.push({ kind: "unchanged", topic: want.name });
  }
  return { changes };
}

/** True when the plan has something to apply (risky changes included) besides refused changes. */
export function planHasChanges(plan: TopicPlan): boolean {
  return plan.changes.some((c) => c.kind !== "unchanged" && c.kind !== "refused");
}

/** The plan's risky config changes (see {@link RISKY_TOPIC_CONFIG}). */
export function riskyChanges(plan: TopicPlan): Extract<TopicChange, { kind: "risky-config" }>[] {
  return plan.changes.filter((c): c is Extract<TopicChange, { kind: "risky-config" }> =>
    c.kind === "risky-config"
  );
}

/** The plan without its risky config changes: what a node applies on start. */
export function withoutRiskyChanges(plan: TopicPlan): TopicPlan {
  return { changes: plan.changes.filter((c) => c.kind !== "risky-config") };
}
