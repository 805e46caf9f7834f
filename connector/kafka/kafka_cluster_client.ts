/**
 * Two requests kafkajs' public API lacks, sent over the kafkajs client's own cluster object (the one its
 * producer, consumers and admin are built on):
 *
 * - **the timestamp of one record** at a given offset, for lag in seconds. kafkajs reads records only through a
 *   consumer group (joining one per probe would trigger rebalances and leave groups behind), so this sends one
 *   Fetch request to the partition's leader: `maxWaitTime` 0, at most {@link PROBE_BYTES} for the partition — one
 *   request and at most one record batch per probe;
 * - **removing a member that is gone** from its group (LeaveGroup with that member's id, as the member itself
 *   would send on a clean stop). A member that died without leaving — its node SIGKILLed, or its consumer
 *   restarted by kafkajs after the broker came back, under a new member id — holds every rebalance of its group
 *   until its session times out; its successor removes it at once instead.
 *
 * The cluster is reached through the client's private factory symbol (kafkajs 2.2.4, pinned in `deno.lock`); a
 * kafkajs without it fails here with a clear error, not elsewhere.
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
  findGroupCoordinator(options: { groupId: string }): Promise<{
    leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
  }>;
}

type ClusterFactory = (options: { allowAutoTopicCreation: boolean }) => Cluster;

/** One connection to the cluster for {@link KafkaClusterClient.timestampAt} and {@link KafkaClusterClient.removeMember}. */
export class KafkaClusterClient {
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
    return await this.#use(async (cluster) => {
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
    });
  }

  /**
   * Removes member `memberId` from `group`, as its own LeaveGroup would.
   *
   * @returns `true` when it was removed, `false` when the group no longer knows it (it left or expired)
   * @throws when the coordinator cannot be reached (retry later)
   */
  async removeMember(group: string, memberId: string): Promise<boolean> {
    return await this.#use(async (cluster) => {
      const coordinator = await cluster.findGroupCoordinator({ groupId: group });
      try {
        await coordinator.leaveGroup({ groupId: group, memberId });
        return true;
      } catch (error) {
        if ((error as { type?: string }).type === "UNKNOWN_MEMBER_ID") return false;
        throw error;
      }
    });
  }

  /** Runs `fn` on the connected cluster; a failure drops the connection, so the next call connects afresh. */
  async #use<T>(fn: (cluster: Cluster) => Promise<T>): Promise<T> {
    const cluster = await this.#connect();
    try {
      return await fn(cluster);
    } catch (error) {
      if (this.#cluster) await this.close();
      throw error;
    }
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
