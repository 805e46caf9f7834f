/**
 * The stream connector contract: the only door between qistream and the durable log.
 *
 * Two implementations honour it — Kafka (kafkajs) and the embedded single-process log — and one contract test
 * suite runs unchanged against both. Offsets are decimal strings (Kafka offsets are 64-bit).
 *
 * Lifecycle: `connect()` → `publish()` / `subscribe()` → `close()`.
 *
 * @module
 */

/** Record headers. Values are UTF-8 strings; binary header values are not part of the contract. */
export type RecordHeaders = Record<string, string>;

/** A record to publish. `key` decides the partition (Kafka's murmur2 over the key bytes). */
export interface OutgoingRecord {
  /** Partition key; a string is encoded as UTF-8. `null` spreads records over partitions. */
  key: string | Uint8Array | null;
  /** The value bytes (already serialised, e.g. Confluent-framed Avro). `null` is a tombstone. */
  value: Uint8Array | null;
  headers?: RecordHeaders;
  /** Milliseconds since the epoch; defaults to the time of publish. */
  timestamp?: number;
  /** Explicit partition; overrides the key-based choice. */
  partition?: number;
}

/** Where a published record landed, once the log acknowledged it durably. */
export interface PublishedRecord {
  topic: string;
  partition: number;
  /** Offset of the record, as a decimal string. */
  offset: string;
}

/** A record read from the log. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeaders;
  timestamp: number;
}

/**
 * A run of records of one partition, in offset order. Offsets may skip (compacted topics, transaction markers,
 * aborted transactions): only the offsets of delivered records exist for a consumer.
 */
export interface PartitionBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** The partition's high watermark (next offset to be written) when the batch was fetched. */
  highWatermark: string;
  /**
   * The last offset the fetch covered, when it is past the last record's: the offsets after the last record up
   * to it hold no record to deliver (transaction markers, aborted records), so a consumer that processed every
   * record may commit past them. A batch may then have no records at all. Absent: the last record's offset.
   */
  lastOffset?: string;
}

/** Identifies one partition of one topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** How to join a consumer group and what to do with what it delivers. */
export interface SubscribeOptions {
  /** Consumer group id; members of one group share the topics' partitions. */
  group: string;
  topics: string[];
  /** Where a partition with no committed offset starts: earliest (`true`) or latest (default `false`). */
  fromBeginning?: boolean;
  /**
   * Called with each batch, per partition in offset order. The next batch of the same partition is not
   * delivered before the returned promise settles. A rejection is reported as an `error` status event and the
   * batch is delivered again; it never commits anything by itself.
   */
  onBatch(batch: PartitionBatch): Promise<void> | void;
  /** Partitions newly assigned to this member; delivery starts at their committed offset. */
  onAssigned?(partitions: TopicPartition[]): Promise<void> | void;
  /** Partitions taken away; their in-flight work must be dropped without commit. Awaited before reassignment. */
  onRevoked?(partitions: TopicPartition[]): Promise<void> | void;
}

/**
 * Where a group membership stands. `consuming`: joined and fetching (or idle with nothing to fetch);
 * `joining`/`rebalancing`: waiting for the group coordinator; `waiting_for_broker`: the client lost the broker and
 * retries by itself; `stalled`: joined but no fetch completed for too long; `crashed`: stopped on an error the
 * client does not retry (see {@link Subscription.ended}); `closed`: `close()` was called.
 */
export type SubscriptionState =
  | "joining"
  | "rebalancing"
  | "consuming"
  | "waiting_for_broker"
  | "stalled"
  | "crashed"
  | "closed";

/** A membership's state for readiness and the tree. */
export interface SubscriptionHealth {
  state: SubscriptionState;
  /** What it waits for, or the error that put it in this state; absent while `consuming`. */
  reason?: string;
  /** When it entered this state, ms since the epoch. */
  since: number;
}

/** How a membership ended: by `close()`, or on an error its client gave up on. */
export type SubscriptionEnd = { kind: "closed" } | { kind: "crashed"; error: Error };

/** A live group membership returned by `subscribe`. */
export interface Subscription {
  readonly group: string;
  /**
   * Resolves once, when the membership ends: `closed` after `close()`, `crashed` when the consumer stopped on an
   * error it does not retry by itself (its partitions were revoked first). A supervisor subscribes again.
   */
  readonly ended: Promise<SubscriptionEnd>;
  /** The membership's current state. */
  health(): SubscriptionHealth;
  /** Partitions currently assigned to this member. */
  assignments(): TopicPartition[];
  /**
   * Marks everything up to and including `offset` of a partition as processed and commits it (the committed
   * position becomes `offset + 1`). Never call it with an offset whose record, or any before it, is unprocessed.
   * Ignored for a partition this member no longer owns.
   */
  commit(topic: string, partition: number, offset: string): Promise<void>;
  /** Stops fetching the given partitions until `resume`; batches already delivered are unaffected. */
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** Commits what was marked processed, leaves the group and stops delivery. */
  close(): Promise<void>;
}

/** Status events, emitted in order to every listener. */
export type ConnectorStatus =
  | { type: "connected" }
  | { type: "disconnected"; error?: Error }
  | { type: "reconnecting"; attempt: number; delayMs: number }
  | { type: "rebalancing"; group: string }
  | { type: "assigned"; group: string; partitions: TopicPartition[] }
  | { type: "revoked"; group: string; partitions: TopicPartition[] }
  | { type: "error"; error: Error; group?: string };

/** The stream connector every agent reaches the log through (via the main thread). */
export interface StreamConnector {
  /** Human-readable kind, e.g. `kafka` or `embedded`. */
  readonly kind: string;
  /** Connects the producer and admin clients; retried with backoff by the implementation. */
  connect(): Promise<void>;
  /** Publishes records to one topic; resolves only when all are durably acknowledged, in input order. */
  publish(topic: string, records: OutgoingRecord[]): Promise<PublishedRecord[]>;
  /** Joins a consumer group and starts delivering batches. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Number of partitions of a topic (throws `UnknownTopicError` if it does not exist). */
  partitionCount(topic: string): Promise<number>;
  /** Per partition: earliest offset, high watermark, and the group's committed offset if a group is given. */
  offsets(topic: string, group?: string): Promise<PartitionOffsets[]>;
  /**
   * The timestamp (ms since the epoch) of the record at `offset` of a partition, or of the first record after it
   * when that offset holds none (compacted, a transaction marker); `null` when there is no record at or after it.
   * Reads at most one record batch.
   */
  timestampAt(topic: string, partition: number, offset: string): Promise<number | null>;
  /** Topic administration (topics as code plans and applies through it). */
  readonly admin: TopicAdmin;
  /** Adds a status listener; returns a function that removes it. */
  onStatus(listener: (status: ConnectorStatus) => void): () => void;
  /** Flushes the producer, closes every subscription (committing what was processed) and disconnects. */
  close(): Promise<void>;
}

/** Offsets of one partition; `committed` is absent when the group has none. */
export interface PartitionOffsets {
  partition: number;
  low: string;
  high: string;
  committed?: string;
}

/** A topic as it should be or as it is. `config` holds Kafka topic configs (`retention.ms`, `cleanup.policy`, ...). */
export interface TopicDescription {
  name: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

/** Topic administration over one log. */
export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  /** Describes existing topics; names that do not exist are left out of the result. */
  describeTopics(names: string[]): Promise<TopicDescription[]>;
  createTopics(topics: TopicDescription[]): Promise<void>;
  /** Raises a topic's partition count to `total`; fewer than today is refused with a `RangeError`. */
  createPartitions(topic: string, total: number): Promise<void>;
  /** Sets the given configs on a topic, leaving others as they are. */
  alterTopicConfig(topic: string, config: Record<string, string>): Promise<void>;
  deleteTopics(names: string[]): Promise<void>;
}
