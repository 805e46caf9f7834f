/**
 * The Kafka implementation of the {@link StreamConnector}, on kafkajs 2.
 *
 * - Producer: idempotent (`idempotent: true`, one request in flight per broker, acks=all), linger batching
 *   (see `kafka_publisher.ts`), optional compression, kafkajs 2's default partitioner, which is the Java
 *   client's murmur2 (`toPositive(murmur2(key)) % partitions`), so a key lands where a Java producer puts it.
 * - Consumers: one kafkajs consumer per subscription, manual commits only (see `kafka_subscription.ts`).
 * - TLS and SASL (PLAIN, SCRAM-SHA-256/512) from options; retries with exponential backoff from `retry`.
 * - Status events: `connected`, `disconnected`, `reconnecting`, `rebalancing`, `assigned`, `revoked`, `error`.
 * - Metrics: `connector_metrics.ts` families, labelled `connector="kafka"`.
 *
 * @example
 * ```ts
 * const connector = new KafkaConnector({ brokers: ["127.0.0.1:9092"], compression: "gzip" });
 * await connector.connect();
 * const [placed] = await connector.publish("market.ticks", [{ key: "BTC-USD", value: bytes }]);
 * const sub = await connector.subscribe({
 *   group: "sink", topics: ["market.ticks"], fromBeginning: true,
 *   onBatch: async (batch) => { await store(batch.records); await sub.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset); },
 * });
 * await connector.close(); // flushes, commits what was marked, leaves the groups
 * ```
 *
 * @module
 */
import { type Admin, Kafka, type Producer } from "kafkajs";
import type {
  ConnectorStatus,
  OutgoingRecord,
  PartitionOffsets,
  PublishedRecord,
  StreamConnector,
  SubscribeOptions,
  Subscription,
} from "../types.ts";
import { sleepOrAbort } from "../../core/abortable_sleep.ts";
import { type ConnectorMetrics, connectorMetrics } from "../connector_metrics.ts";
import { AuthenticationError, ConnectorClosedError, UnknownTopicError } from "../errors.ts";
import { getLogger } from "../../core/log.ts";
import { registry as processRegistry } from "../../core/metrics.ts";
import { KafkaAdmin } from "./kafka_admin.ts";
import { connectErrorFrom, isConnectionFailure } from "./kafka_errors.ts";
import {
  kafkaClientConfig,
  type KafkaConnectorOptions,
  type ResolvedKafkaOptions,
  resolveKafkaOptions,
} from "./kafka_options.ts";
import { KafkaPublisher, recordingPartitioner } from "./kafka_publisher.ts";
import { KafkaClusterClient } from "./kafka_cluster_client.ts";
import { KafkaSubscription } from "./kafka_subscription.ts";
import { backoffDelay } from "../../core/backoff_delay.ts";

const log = getLogger("connector.kafka");

/** The Kafka stream connector. */
export class KafkaConnector implements StreamConnector {
  readonly kind = "kafka";
  readonly admin: KafkaAdmin;
  #options: ResolvedKafkaOptions;
  #kafka: Kafka;
  #producer: Producer;
  #kafkaAdmin: Admin;
  #publisher: KafkaPublisher;
  #metrics: ConnectorMetrics;
  #listeners = new Set<(status: ConnectorStatus) => void>();
  #subscriptions = new Set<KafkaSubscription>();
  #connecting: Promise<void> | null = null;
  #connected = false;
  #everConnected = false;
  #closing: Promise<void> | null = null;
  #abort = new AbortController();
  #knownTopics = new Set<string>();
  #cluster: KafkaClusterClient;

  /**
   * @param options brokers, security, batching and tuning; see {@link KafkaConnectorOptions}
   * @throws {TypeError} when no broker or a malformed broker is given
   * @throws {RangeError} when a tuning value is out of range or a compression has no codec
   */
  constructor(options: KafkaConnectorOptions) {
    this.#options = resolveKafkaOptions(options);
    this.#metrics = connectorMetrics(this.#options.registry ?? processRegistry);
    this.#kafka = new Kafka(kafkaClientConfig(this.#options));
    const chosen = new WeakMap<object, number>();
    this.#producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: recordingPartitioner(chosen),
      retry: { ...this.#options.retry },
    });
    this.#kafkaAdmin = this.#kafka.admin({ retry: { ...this.#options.retry } });
    this.admin = new KafkaAdmin(this.#kafkaAdmin, this.#options.brokers);
    this.#cluster = new KafkaClusterClient(this.#kafka);
    this.#publisher = new KafkaPublisher(this.#producer, chosen, this.#options, {
      onSendSucceeded: () => this.#markConnected(),
      onConnectionLost: (error) => this.#markDisconnected(error),
    }, this.#metrics);
  }

  /**
   * Connects the producer and the admin client, retrying with exponential backoff (a `reconnecting` status
   * per retry) for up to `retry.maxRetryTime`.
   *
   * @throws {ConnectionError} when the brokers stay unreachable
   * @throws {AuthenticationError} when SASL authentication fails (not retried)
   * @throws {ConnectorClosedError} when the connector was closed
   */
  connect(): Promise<void> {
    if (this.#closing) return Promise.reject(new ConnectorClosedError());
    this.#connecting ??= this.#connect().catch((error) => {
      this.#connecting = null;
      throw error;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const { initialRetryTime, maxRetryTime } = this.#options.retry;
    const started = Date.now();
    for (let attempt = 1;; attempt++) {
      try {
        await this.#producer.connect();
        await this.#kafkaAdmin.connect();
        this.#markConnected();
        return;
      } catch (error) {
        const mapped = connectErrorFrom(error, this.#options.brokers);
        const delayMs = backoffDelay(attempt - 1, {
          initialMs: Math.min(initialRetryTime, maxRetryTime),
          maxMs: maxRetryTime,
          jitter: 0,
        });
        if (
          mapped instanceof AuthenticationError || this.#abort.signal.aborted ||
          Date.now() - started + delayMs > maxRetryTime
        ) {
          await this.#producer.disconnect().catch(() => {});
          await this.#kafkaAdmin.disconnect().catch(() => {});
          throw mapped;
        }
        log.warn("Kafka connect attempt {attempt} failed, retrying in {delayMs} ms: {error}", {
          attempt,
          delayMs,
          error: mapped.message,
        });
        this.#emit({ type: "reconnecting", attempt, delayMs });
        await sleepOrAbort(delayMs, this.#abort.signal);
      }
    }
  }

  /** Publishes records; resolves, in input order, with where each landed once acknowledged by all ISRs. */
  async publish(topic: string, records: OutgoingRecord[]): Promise<PublishedRecord[]> {
    if (this.#closing) throw new ConnectorClosedError();
    await this.connect();
    if (!this.#knownTopics.has(topic) && records.length > 0) {
      // Fail fast: kafkajs would retry an unknown topic's metadata for seconds before giving up.
      if (!(await this.admin.listTopics()).includes(topic)) throw new UnknownTopicError(topic);
      this.#knownTopics.add(topic);
    }
    return await this.#publisher.publish(topic, records);
  }

  /**
   * Joins a consumer group; resolves once the member has joined and knows its first assignment.
   *
   * @throws {UnknownTopicError} when a topic does not exist (topics are created through `admin`, never implicitly)
   */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.#closing) throw new ConnectorClosedError();
    await this.connect();
    if (Array.isArray(options.topics)) {
      const existing = new Set(await this.admin.listTopics());
      const missing = options.topics.find((topic) => !existing.has(topic));
      if (missing !== undefined) throw new UnknownTopicError(missing);
    }
    const subscription: KafkaSubscription = new KafkaSubscription(
      this.#kafka,
      options,
      this.#options,
      (status) => this.#emit(status),
      () => this.#subscriptions.delete(subscription),
      this.#metrics,
      (memberId) => this.#cluster.removeMember(options.group, memberId),
      (topic) => this.admin.offsets(topic, options.group),
    );
    this.#subscriptions.add(subscription);
    await subscription.start();
    return subscription;
  }

  async partitionCount(topic: string): Promise<number> {
    await this.connect();
    return await this.admin.partitionCount(topic);
  }

  async offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    await this.connect();
    return await this.admin.offsets(topic, group);
  }

  async timestampAt(topic: string, partition: number, offset: string): Promise<number | null> {
    if (this.#closing) throw new ConnectorClosedError();
    await this.connect();
    try {
      return await this.#cluster.timestampAt(topic, partition, offset);
    } catch (error) {
      throw isConnectionFailure(error) ? connectErrorFrom(error, this.#options.brokers) : error;
    }
  }

  onStatus(listener: (status: ConnectorStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Flushes pending publishes, closes every subscription (committing what was marked), disconnects. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#abort.abort();
    await this.#connecting?.catch(() => {});
    const errors: unknown[] = [];
    await this.#publisher.close().catch((e) => errors.push(e));
    for (const result of await Promise.allSettled([...this.#subscriptions].map((s) => s.close()))) {
      if (result.status === "rejected") errors.push(result.reason);
    }
    await this.#producer.disconnect().catch((e) => errors.push(e));
    await this.#kafkaAdmin.disconnect().catch((e) => errors.push(e));
    await this.#cluster.close();
    if (this.#connected) {
      this.#connected = false;
      this.#emit({ type: "disconnected" });
    }
    if (errors.length > 0) throw new AggregateError(errors, "Errors while closing the Kafka connector");
  }

  #markConnected(): void {
    if (this.#connected) return;
    if (this.#everConnected) this.#metrics?.reconnects.inc({ connector: "kafka" });
    this.#connected = true;
    this.#everConnected = true;
    this.#emit({ type: "connected" });
  }

  #markDisconnected(error: unknown): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#emit({ type: "disconnected", error: error instanceof Error ? error : new Error(String(error)) });
  }

  #emit(status: ConnectorStatus): void {
    for (const listener of this.#listeners) {
      try {
        listener(status);
      } catch (error) {
        log.error("A connector status listener threw: {error}", { error: String(error) });
      }
    }
  }
}
