/**
 * The embedded log's data directory: the single-process lock, topic metadata (`topics.json`), committed group
 * offsets (`groups.json`) and one {@link PartitionLog} per partition under `topics/<topic>/<partition>/`.
 *
 * @module
 */

import { join } from "node:path";
import { getLogger } from "../../core/log.ts";
import { TopicExistsError, UnknownTopicError } from "../errors.ts";
import type { TopicDescription } from "../types.ts";
import { acquireDataDirLock, type DataDirLock } from "./data_dir_lock.ts";
import { JsonFileStore } from "./json_file_store.ts";
import { PartitionLog } from "./partition_log.ts";
import type { LogFs } from "./log_fs.ts";
import { integerAtLeast } from "../../core/integer_at_least.ts";

/** Defaults applied to topics that do not set the corresponding config. */
export interface LogDefaults {
  /** `retention.ms`; -1 keeps forever. */
  retentionMs: number;
  /** `retention.bytes` per partition; -1 means no size limit. */
  retentionBytes: number;
  /** `segment.bytes`. */
  segmentBytes: number;
  /** `max.message.bytes`: largest record (key + value + headers). */
  maxMessageBytes: number;
  /** fsync before a publish resolves. */
  fsync: boolean;
  /** How long a failing partition write is retried before its publish fails (retriable). */
  writeRetryMs?: number;
  /** The segment file operations (default: the real file system); a seam for fault injection in tests. */
  fs?: LogFs;
  /** Told of each failed partition write attempt. */
  onWriteError?: (where: { topic: string; partition: number }, error: Error, final: boolean) => void;
}

interface TopicMeta {
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

interface TopicsFile {
  version: 1;
  topics: Record<string, TopicMeta>;
}

interface GroupsFile {
  version: 1;
  /** group -> topic -> partition -> next offset to read. */
  groups: Record<string, Record<string, Record<string, number>>>;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const NUMERIC_CONFIGS = ["retention.ms", "retention.bytes", "segment.bytes", "max.message.bytes"];
const log = getLogger("connector.embedded");

/** The opened data directory. */
export class EmbeddedLogStore {
  readonly dataDir: string;
  readonly defaults: LogDefaults;
  readonly #lock: DataDirLock;
  readonly #topics: JsonFileStore<TopicsFile>;
  readonly #groups: JsonFileStore<GroupsFile>;
  readonly #logs = new Map<string, PartitionLog[]>();

  private constructor(
    dataDir: string,
    defaults: LogDefaults,
    lock: DataDirLock,
    topics: JsonFileStore<TopicsFile>,
    groups: JsonFileStore<GroupsFile>,
  ) {
    this.dataDir = dataDir;
    this.defaults = defaults;
    this.#lock = lock;
    this.#topics = topics;
    this.#groups = groups;
  }

  /**
   * Locks and opens a data directory, recovering every partition.
   *
   * @param dataDir The directory (created if missing).
   * @param defaults Topic config defaults.
   * @returns The store.
   * @throws {DataDirLockedError} If another process holds the directory.
   * @throws {LogCorruptionError} If a sealed segment is damaged.
   */
  static async open(dataDir: string, defaults: LogDefaults): Promise<EmbeddedLogStore> {
    const lock = await acquireDataDirLock(dataDir);
    try {
      const topics = await JsonFileStore.open<TopicsFile>(join(dataDir, "topics.json"), {
        version: 1,
        topics: {},
      });
      const groups = await JsonFileStore.open<GroupsFile>(join(dataDir, "groups.json"), {
        version: 1,
        groups: {},
      });
      const store = new EmbeddedLogStore(dataDir, defaults, lock, topics, groups);
      for (const [name, meta] of Object.entries(topics.data.topics)) {
        await store.#openPartitions(name, 0, meta.partitions);
      }
      return store;
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  async #openPartitions(topic: string, from: number, to: number): Promise<void> {
    const logs = this.#logs.get(topic) ?? [];
    this.#logs.set(topic, logs);
    for (let p = from; p < to; p++) {
      const { log: partitionLog, report } = await PartitionLog.open(this.#partitionDir(topic, p), {
        segmentBytes: this.#numeric(topic, "segment.bytes", this.defaults.segmentBytes),
        fsync: this.defaults.fsync,
        writeRetryMs: this.defaults.writeRetryMs,
        fs: this.defaults.fs,
        onWriteError: (error, final) => {
          const fields = { topic, partition: p, error: error.message };
          if (final) {
            log.error("Writing {topic}[{partition}] kept failing; its publishes fail: {error}", fields);
          } else log.warn("Writing {topic}[{partition}] failed, retrying: {error}", fields);
          this.defaults.onWriteError?.({ topic, partition: p }, error, final);
        },
      });
      if (report.truncatedBytes > 0) {
        log.warn("Truncated a torn tail of {topic}[{partition}]: {bytes} bytes", {
          topic,
          partition: p,
          bytes: report.truncatedBytes,
        });
      }
      logs[p] = partitionLog;
    }
  }

  #topicDir(topic: string): string {
    return join(this.dataDir, "topics", topic);
  }

  #partitionDir(topic: string, partition: number): string {
    return join(this.#topicDir(topic), String(partition));
  }

  /** Names of all topics, sorted. */
  topicNames(): string[] {
    return Object.keys(this.#topics.data.topics).sort();
  }

  /** A topic's description with effective configs, or `undefined`. */
  describe(topic: string): TopicDescription | undefined {
    const meta = this.#topics.data.topics[topic];
    if (!meta) return undefined;
    return {
      name: topic,
      partitions: meta.partitions,
      replicationFactor: meta.replicationFactor,
      config: {
        "cleanup.policy": "delete",
        "retention.ms": String(this.defaults.retentionMs),
        "retention.bytes": String(this.defaults.retentionBytes),
        "segment.bytes": String(this.defaults.segmentBytes),
        "max.message.bytes": String(this.defaults.maxMessageBytes),
        ...meta.config,
      },
    };
  }

  /** Partition count, or 0 if the topic does not exist. */
  partitionCount(topic: string): number {
    return this.#topics.data.topics[topic]?.partitions ?? 0;
  }

  /** The log of one partition, or `undefined`. */
  partitionLog(topic: string, partition: number): PartitionLog | undefined {
    return this.#logs.get(topic)?.[partition];
  }

  /** A numeric topic config, falling back to `fallback`. */
  #numeric(topic: string, name: string, fallback: number): number {
    const value = this.#topics.data.topics[topic]?.config[name];
    return value === undefined ? fallback : Number(value);
  }

  /** Effective retention and size limits of a topic. */
  limits(topic: string): { retentionMs: number; retentionBytes: number; maxMessageBytes: number } {
    return {
      retentionMs: this.#numeric(topic, "retention.ms", this.defaults.retentionMs),
      retentionBytes: this.#numeric(topic, "retention.bytes", this.defaults.retentionBytes),
      maxMessageBytes: this.#numeric(topic, "max.message.bytes", this.defaults.maxMessageBytes),
    };
  }

  /**
   * Creates a topic and its partition directories.
   *
   * @throws {TypeError} If the name is not a legal Kafka topic name.
   * @throws {RangeError} If partitions or replication factor is not a positive integer, or a config is invalid.
   * @throws {TopicExistsError} If it exists.
   */
  async createTopic(topic: TopicDescription): Promise<void> {
    if (!TOPIC_NAME.test(topic.name) || topic.name === "." || topic.name === "..") {
      throw new TypeError(`Cannot create topic "${topic.name}": use 1-249 characters of a-z A-Z 0-9 . _ -`);
    }
    integerAtLeast(`create topic "${topic.name}"`, "partitions", topic.partitions);
    integerAtLeast(`create topic "${topic.name}"`, "replication factor", topic.replicationFactor);
    validateConfig(topic.config);
    if (this.#topics.data.topics[topic.name]) throw new TopicExistsError(topic.name);
    // A directory left by a crash between delete and save must not leak old records into the new topic.
    await Deno.remove(this.#topicDir(topic.name), { recursive: true }).catch(() => {});
    this.#topics.data.topics[topic.name] = {
      partitions: topic.partitions,
      replicationFactor: topic.replicationFactor,
      config: { ...topic.config },
    };
    await this.#openPartitions(topic.name, 0, topic.partitions);
    await this.#topics.save();
  }

  /**
   * Raises a topic's partition count.
   *
   * @throws {UnknownTopicError} If it does not exist.
   * @throws {RangeError} If `total` is fewer than today.
   */
  async addPartitions(topic: string, total: number): Promise<boolean> {
    const meta = this.#topics.data.topics[topic];
    if (!meta) throw new UnknownTopicError(topic);
    integerAtLeast(`add partitions to "${topic}"`, "partition count", total);
    if (total < meta.partitions) {
      throw new RangeError(
        `Cannot set "${topic}" to ${total} partitions: it has ${meta.partitions} and partitions cannot be removed`,
      );
    }
    if (total === meta.partitions) return false;
    await this.#openPartitions(topic, meta.partitions, total);
    meta.partitions = total;
    await this.#topics.save();
    return true;
  }

  /**
   * Merges configs into a topic's.
   *
   * @throws {UnknownTopicError} If it does not exist.
   * @throws {RangeError} If a numeric config is not a number.
   */
  async alterConfig(topic: string, config: Record<string, string>): Promise<void> {
    const meta = this.#topics.data.topics[topic];
    if (!meta) throw new UnknownTopicError(topic);
    validateConfig(config);
    Object.assign(meta.config, config);
    await this.#topics.save();
  }

  /** Deletes a topic, its files and every group's offsets for it. */
  async deleteTopic(topic: string): Promise<void> {
    if (!this.#topics.data.topics[topic]) throw new UnknownTopicError(topic);
    delete this.#topics.data.topics[topic];
    for (const offsets of Object.values(this.#groups.data.groups)) delete offsets[topic];
    await this.#topics.save();
    await this.#groups.save();
    const logs = this.#logs.get(topic) ?? [];
    this.#logs.delete(topic);
    for (const l of logs) await l.close();
    await Deno.remove(this.#topicDir(topic), { recursive: true }).catch(() => {});
  }

  /** A group's committed position (next offset to read) for a partition. */
  committed(group: string, topic: string, partition: number): number | undefined {
    return this.#groups.data.groups[group]?.[topic]?.[String(partition)];
  }

  /**
   * Stores a group's committed position durably (coalesced with concurrent commits). Commits never move
   * backwards: a position below the stored one is ignored (a late or stale commit), as a consumer's own
   * committed offset only grows.
   */
  commit(group: string, topic: string, partition: number, next: number): Promise<void> {
    const groups = this.#groups.data.groups;
    const topics = groups[group] ??= {};
    const partitions = topics[topic] ??= {};
    const current = partitions[String(partition)];
    if (current !== undefined && next < current) return this.#groups.save();
    partitions[String(partition)] = next;
    return this.#groups.save();
  }

  /**
   * Applies each topic's retention to its partitions.
   *
   * @returns Number of segments deleted.
   */
  async applyRetention(now = Date.now()): Promise<number> {
    let deleted = 0;
    for (const [topic, logs] of this.#logs) {
      const { retentionMs, retentionBytes } = this.limits(topic);
      for (const l of logs) deleted += await l.applyRetention(retentionMs, retentionBytes, now);
    }
    return deleted;
  }

  /** Flushes and closes every partition, saves the metadata and releases the lock. */
  async close(): Promise<void> {
    try {
      for (const logs of this.#logs.values()) for (const l of logs) await l.close();
      await this.#topics.save();
      await this.#groups.save();
    } finally {
      this.#logs.clear();
      await this.#lock.release();
    }
  }
}

function validateConfig(config: Record<string, string>): void {
  for (const name of NUMERIC_CONFIGS) {
    const value = config[name];
    if (value !== undefined && !/^-?\d+$/.test(value)) {
      throw new RangeError(`Cannot set ${name}: "${value}" is not an integer`);
    }
  }
  const policy = config["cleanup.policy"];
  if (policy !== undefined && !/^(delete|compact)(,(delete|compact))?$/.test(policy)) {
    throw new RangeError(`Cannot set cleanup.policy: "${policy}" is not delete, compact or delete,compact`);
  }
}
