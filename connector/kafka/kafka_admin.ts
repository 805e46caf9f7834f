/**
 * Topic administration and offset queries over a kafkajs admin client.
 *
 * @module
 */
import { type Admin, ConfigResourceTypes } from "kafkajs";
import type { PartitionOffsets, TopicAdmin, TopicDescription } from "../types.ts";
import { TopicAdminError, TopicExistsError, UnknownTopicError } from "../errors.ts";
import { connectErrorFrom, isConnectionFailure } from "./kafka_errors.ts";
import { isRetriable } from "../../core/retriable.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { backoffDelay } from "../../core/backoff_delay.ts";

/** Attempts of a read (metadata, offsets, configs) that fails with a retriable broker error. */
const READ_ATTEMPTS = 5;
/** Admin operations that change the cluster: never retried blindly (a retry could act twice). */
/** How long `createPartitions` waits for the broker's metadata to show the new partitions. */
const PARTITIONS_VISIBLE_MS = 10_000;

const WRITES = new Set(["createTopics", "createPartitions", "alterConfigs", "deleteTopics"]);

/** Kafka's `ConfigSource.TOPIC_CONFIG`: a config set on the topic itself. */
const TOPIC_CONFIG_SOURCE = 1;

/** {@link TopicAdmin} over a connected kafkajs admin client; also answers partition counts and offsets. */
export class KafkaAdmin implements TopicAdmin {
  #admin: Admin;
  #brokers: string[];

  constructor(admin: Admin, brokers: string[]) {
    this.#admin = admin;
    this.#brokers = brokers;
  }

  /** Topic names, internal ones (`__consumer_offsets`, ...) left out. */
  async listTopics(): Promise<string[]> {
    const names = await this.#run("listTopics", [], () => this.#admin.listTopics());
    return names.filter((name) => !name.startsWith("__")).sort();
  }

  /** Describes existing topics (partitions, replication factor, configs set on the topic). */
  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    const existing = new Set(await this.#run("listTopics", names, () => this.#admin.listTopics()));
    const wanted = names.filter((name) => existing.has(name));
    if (wanted.length === 0) return [];
    const metadata = await this.#run(
      "fetchTopicMetadata",
      wanted,
      () => this.#admin.fetchTopicMetadata({ topics: wanted }),
    );
    const configs = await this.#topicConfigs(wanted);
    return metadata.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.length,
      replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
      config: configs.get(topic.name) ?? {},
    }));
  }

  /**
   * Creates topics and waits for their leaders.
   *
   * @throws {TopicExistsError} if one of them already exists (none is created then)
   */
  async createTopics(topics: TopicDescription[]): Promise<void> {
    if (topics.length === 0) return;
    const names = topics.map((t) => t.name);
    const existing = new Set(await this.#run("listTopics", names, () => this.#admin.listTopics()));
    const clash = names.find((name) => existing.has(name));
    if (clash !== undefined) throw new TopicExistsError(clash);
    for (const t of topics) {
      if (!Number.isInteger(t.partitions) || t.partitions < 1) {
        throw new RangeError(`Cannot create topic "${t.name}": partitions is ${t.partitions}, expected >= 1`);
      }
    }
    await this.#run("createTopics", names, () =>
      this.#admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      }));
  }

  /**
   * Raises a topic's partition count.
   *
   * @throws {RangeError} when `total` is below today's count
   * @throws {UnknownTopicError} when the topic does not exist
   */
  async createPartitions(topic: string, total: number): Promise<void> {
    const current = await this.partitionCount(topic);
    if (!Number.isInteger(total) || total < current) {
      throw new RangeError(
        `Cannot change the partitions of "${topic}": requested ${total}, current value is ${current}; Kafka can only add partitions`,
      );
    }
    if (total === current) return;
    await this.#run(
      "createPartitions",
      [topic],
      () => this.#admin.createPartitions({ topicPartitions: [{ topic, count: total }] }),
    );
    // The broker answers before its metadata shows the new partitions: wait (bounded) so that callers, and
    // producers partitioning by the count, see them at once.
    const deadline = Date.now() + PARTITIONS_VISIBLE_MS;
    while (Date.now() < deadline && await this.partitionCount(topic) < total) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Sets configs on a topic, keeping the other configs set on it (kafkajs only has the replacing AlterConfigs). */
  async alterTopicConfig(topic: string, config: Record<string, string>): Promise<void> {
    const current = (await this.#topicConfigs([topic])).get(topic);
    if (current === undefined) throw new UnknownTopicError(topic);
    const merged = { ...current, ...config };
    await this.#run("alterConfigs", [topic], () =>
      this.#admin.alterConfigs({
        validateOnly: false,
        resources: [{
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: Object.entries(merged).map(([name, value]) => ({ name, value })),
        }],
      }));
  }

  /** Deletes topics; names that do not exist are ignored. */
  async deleteTopics(names: string[]): Promise<void> {
    const existing = new Set(await this.#run("listTopics", names, () => this.#admin.listTopics()));
    const topics = names.filter((name) => existing.has(name));
    if (topics.length === 0) return;
    await this.#run("deleteTopics", topics, () => this.#admin.deleteTopics({ topics }));
  }

  /**
   * Number of partitions of a topic.
   *
   * @throws {UnknownTopicError} when the topic does not exist
   */
  async partitionCount(topic: string): Promise<number> {
    return await this.#metadata(topic);
  }

  /** Earliest offset, high watermark and (with a group) committed offset per partition. */
  async offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    await this.#metadata(topic);
    const ends = await this.#run("fetchTopicOffsets", [topic], () => this.#admin.fetchTopicOffsets(topic));
    const committed = new Map<number, string>();
    if (group !== undefined) {
      const byTopic = await this.#run(
        "fetchOffsets",
        [topic],
        () => this.#admin.fetchOffsets({ groupId: group, topics: [topic] }),
      );
      for (const p of byTopic.find((t) => t.topic === topic)?.partitions ?? []) {
        if (p.offset !== "-1" && p.offset !== "") committed.set(p.partition, p.offset);
      }
    }
    return ends
      .map((p) => {
        const row: PartitionOffsets = { partition: p.partition, low: p.low, high: p.high };
        const c = committed.get(p.partition);
        if (c !== undefined) row.committed = c;
        return row;
      })
      .sort((a, b) => a.partition - b.partition);
  }

  async #metadata(topic: string): Promise<number> {
    const existing = await this.#run("listTopics", [topic], () => this.#admin.listTopics());
    if (!existing.includes(topic)) throw new UnknownTopicError(topic);
    const metadata = await this.#run(
      "fetchTopicMetadata",
      [topic],
      () => this.#admin.fetchTopicMetadata({ topics: [topic] }),
    );
    return metadata.topics[0]?.partitions.length ?? 0;
  }

  async #topicConfigs(names: string[]): Promise<Map<string, Record<string, string>>> {
    const result = await this.#run("describeConfigs", names, () =>
      this.#admin.describeConfigs({
        includeSynonyms: false,
        resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      }));
    const configs = new Map<string, Record<string, string>>();
    for (const resource of result.resources) {
      if (resource.errorCode !== 0) continue;
      const set: Record<string, string> = {};
      for (const entry of resource.configEntries) {
        const source = (entry as { configSource?: number }).configSource;
        const onTopic = source === undefined ? !entry.isDefault : source === TOPIC_CONFIG_SOURCE;
        if (onTopic && entry.configValue !== null && !entry.isSensitive) {
          set[entry.configName] = entry.configValue;
        }
      }
      configs.set(resource.resourceName, set);
    }
    return configs;
  }

  /**
   * Runs an admin call, mapping its errors. Reads are retried a few times on retriable broker errors, such as
   * a partition whose leader is not elected yet right after a topic or partition was created; writes are not.
   */
  async #run<T>(operation: string, topics: string[], fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const retriable = isRetriable(error) &&
          !isConnectionFailure(error);
        if (WRITES.has(operation) || !retriable || attempt >= READ_ATTEMPTS) {
          throw this.#mapError(operation, topics, error);
        }
        await abortableSleep(backoffDelay(attempt - 1, { initialMs: 100, maxMs: 10_000, jitter: 0 }));
      }
    }
  }

  #mapError(operation: string, topics: string[], error: unknown): Error {
    const type = (error as { type?: string }).type;
    if (type === "UNKNOWN_TOPIC_OR_PARTITION" && topics.length === 1) {
      return new UnknownTopicError(topics[0]!, { cause: error });
    }
    if (type === "TOPIC_ALREADY_EXISTS" && topics.length === 1) {
      return new TopicExistsError(topics[0]!, { cause: error });
    }
    if (isConnectionFailure(error)) return connectErrorFrom(error, this.#brokers);
    return new TopicAdminError(operation, topics, {
      cause: error,
      retriable: isRetriable(error),
    });
  }
}
