/**
 * Reads the timestamp of one record at a given offset, for lag in seconds.
 *
 * kafkajs reads records only through a consumer group (joining one per probe would trigger rebalances and
 * leave groups behind), so this uses the kafkajs client's own cluster object — the one its producer, consumers
 * and admin are built on — and sends one Fetch request to the partition's leader: `maxWaitTime` 0, at most
 * {@link PROBE_BYTES} for the partition, so a probe costs one request and at most one record batch. The cluster
 * is reached through the client's private factory symbol (kafkajs 2.2.4, pinned in `deno.lock`); a kafkajs
 * without it fails here with a clear error, not elsewhere.
 *
 * @module
 */
import type { Kafka } from "kafkajs";

/** Bytes asked for per probe; the broker still returns the whole first batch when it is larger (KIP-74). */
const PROBE_BYTES = 64 * 1024;

interface FetchedMessage {
  offset: string;
  timestamp: string;
}

interface ClusterBroker {
  fetch(request: {
    replicaId: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<
    { responses: { topicName: string; partitions: { partition: number; messages: FetchedMessage[] }[] }[] }
  >;
}

interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<ClusterBroker>;
}

type ClusterFactory = (options: { allowAutoTopicCreation: boolean }) => Cluster;

/** One connection to the cluster that answers {@link KafkaRecordReader.timestampAt}. */
export class KafkaRecordReader {
  #kafka: Kafka;
  #cluster: Promise<Cluster> | undefined;

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
  }

  /**
   * The timestamp of the record at `offset` (or the first one after it) of a partition, or `null` when the
   * partition holds none at or after it.
   *
   * @throws {RangeError} when the partition has no leader in the cluster's metadata
   */
  async timestampAt(topic: string, partition: number, offset: string): Promise<number | null> {
    const cluster = await this.#connect();
    await cluster.addTargetTopic(topic);
    const nodeId = Object.keys(cluster.findLeaderForPartitions(topic, [partition]))[0];
    if (nodeId === undefined) throw new RangeError(`Cannot read ${topic}[${partition}]: it has no leader`);
    const broker = await cluster.findBroker({ nodeId });
    const { responses } = await broker.fetch({
      replicaId: -1,
      maxWaitTime: 0,
      minBytes: 1,
      maxBytes: PROBE_BYTES,
      topics: [{ topic, partitions: [{ partition, fetchOffset: offset, maxBytes: PROBE_BYTES }] }],
    });
    const messages = responses.find((r) => r.topicName === topic)?.partitions
      .find((p) => p.partition === partition)?.messages ?? [];
    const from = BigInt(offset);
    const first = messages.find((m) => BigInt(m.offset) >= from);
    return first ? Number(first.timestamp) : null;
  }

  /** Disconnects, if connected. */
  async close(): Promise<void> {
    const cluster = this.#cluster;
    this.#cluster = undefined;
    if (cluster) await (await cluster.catch(() => undefined))?.disconnect().catch(() => {});
  }

  #connect(): Promise<Cluster> {
    this.#cluster ??= (async () => {
      const symbol = Object.getOwnPropertySymbols(this.#kafka)
        .find((s) => s.description === "private:Kafka:createCluster");
      const create = symbol && (this.#kafka as unknown as Record<symbol, ClusterFactory>)[symbol];
      if (typeof create !== "function") {
        throw new TypeError("Cannot read record timestamps: this kafkajs version has no cluster factory");
      }
      const cluster = create({ allowAutoTopicCreation: false });
      await cluster.connect();
      return cluster;
    })().catch((error) => {
      this.#cluster = undefined;
      throw error;
    });
    return this.#cluster;
  }
}
