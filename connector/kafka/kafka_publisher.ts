/**
 * The Kafka connector's producer side: an idempotent kafkajs producer (acks=all) behind a linger batcher.
 *
 * Concurrent `publish` calls are coalesced: the first call after an idle period waits `linger` ms (default 0:
 * the next macrotask; or until `batchRecords`/`batchBytes` are queued), then everything queued goes out in one
 * `sendBatch`. While a send is in
 * flight, new calls queue and leave together as soon as it completes. Each call still resolves only when its
 * own records are acknowledged, with the partition and offset of each. If a coalesced send fails for a reason
 * that may belong to one call (a record too large, an unknown topic), each partition's batch is sent again as
 * it was (the idempotent broker acknowledges what it had appended without appending it twice) and only a
 * partition that fails again is split call by call, so only the faulty call fails and the others' records land
 * exactly once, in order (see `#recover`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Message, Partitioners, type Producer, type RecordMetadata } from "kafkajs";
import type { OutgoingRecord, PublishedRecord } from "../types.ts";
import { type ConnectorMetrics, payloadBytes } from "../connector_metrics.ts";
import {
  AuthenticationError,
  ConnectorClosedError,
  RecordTooLargeError,
  UnknownTopicError,
} from "../errors.ts";
import { isConnectionFailure, publishErrorFrom } from "./kafka_errors.ts";
import { codecType, type ResolvedKafkaOptions } from "./kafka_options.ts";

interface PendingCall {
  topic: string;
  messages: Message[];
  bytes: number;
  started: number;
  resolve(records: PublishedRecord[]): void;
  reject(error: unknown): void;
}

/** Outcome hooks the connector uses to track the connection state. */
export interface PublisherHooks {
  /** A send reached the brokers. */
  onSendSucceeded(): void;
  /** A send failed because the brokers could not be reached. */
  onConnectionLost(error: unknown): void;
}

/**
 * Creates a kafkajs partitioner that behaves exactly as kafkajs 2's `DefaultPartitioner` (Java-compatible
 * murmur2 for keyed records) and remembers, per message object, the partition it chose.
 *
 * @param chosen where the chosen partition of each message is recorded
 */
export function recordingPartitioner(chosen: WeakMap<object, number>) {
  return () => {
    const inner = Partitioners.DefaultPartitioner();
    return (args: Parameters<ReturnType<typeof Partitioners.DefaultPartitioner>>[0]): number => {
      const partition = inner(args);
      chosen.set(args.message, partition);
      return partition;
    };
  };
}

/** Batching, idempotent publisher over one kafkajs producer. */
export class KafkaPublisher {
  #producer: Producer;
  #options: ResolvedKafkaOptions;
  #chosen: WeakMap<object, number>;
  #metrics: ConnectorMetrics | undefined;
  #hooks: PublisherHooks;
  #queue: PendingCall[] = [];
  #queuedRecords = 0;
  #queuedBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | null = null;
  #closed = false;

  /**
   * @param producer an idempotent kafkajs producer created with {@link recordingPartitioner}
   * @param chosen the map that partitioner records into
   */
  constructor(
    producer: Producer,
    chosen: WeakMap<object, number>,
    options: ResolvedKafkaOptions,
    hooks: PublisherHooks,
    metrics?: ConnectorMetrics,
  ) {
    this.#producer = producer;
    this.#chosen = chosen;
    this.#options = options;
    this.#hooks = hooks;
    this.#metrics = metrics;
  }

  /** Queues records for the next send; resolves when they are acknowledged by all in-sync replicas. */
  publish(topic: string, records: OutgoingRecord[]): Promise<PublishedRecord[]> {
    if (this.#closed) return Promise.reject(new ConnectorClosedError("Kafka publisher"));
    if (typeof topic !== "string" || topic === "") {
      return Promise.reject(new TypeError(`Cannot publish: topic is "${topic}", expected a topic name`));
    }
    if (records.length === 0) return Promise.resolve([]);
    const messages: Message[] = [];
    let bytes = 0;
    for (const record of records) {
      const size = recordSize(record);
      if (size > this.#options.maxRecordBytes) {
        return Promise.reject(new RecordTooLargeError(topic, size, this.#options.maxRecordBytes));
      }
      bytes += payloadBytes(record.key) + payloadBytes(record.value);
      messages.push(toMessage(record));
    }
    return new Promise<PublishedRecord[]>((resolve, reject) => {
      this.#queue.push({ topic, messages, bytes, started: performance.now(), resolve, reject });
      this.#queuedRecords += messages.length;
      this.#queuedBytes += bytes;
      this.#schedule();
    });
  }

  /** Sends everything queued now and waits until it is acknowledged (or failed). */
  async flush(): Promise<void> {
    this.#kick();
    while (this.#sending) await this.#sending;
  }

  /** Flushes, then refuses further publishes. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #schedule(): void {
    if (this.#sending) return; // the running drain picks the queue up when its send completes
    if (this.#queuedRecords >= this.#options.batchRecords || this.#queuedBytes >= this.#options.batchBytes) {
      this.#kick();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#kick(), this.#options.linger);
    }
  }

  #kick(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#sending || this.#queue.length === 0) return;
    this.#sending = this.#drain().finally(() => {
      this.#sending = null;
      // A call queued after the drain's last check (while this callback was pending) starts its own round.
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const calls: PendingCall[] = [];
      let records = 0;
      let bytes = 0;
      while (
        this.#queue.length > 0 &&
        (calls.length === 0 ||
          (records + this.#queue[0]!.messages.length <= this.#options.batchRecords &&
            bytes + this.#queue[0]!.bytes <= this.#options.batchBytes))
      ) {
        const call = this.#queue.shift()!;
        calls.push(call);
        records += call.messages.length;
        bytes += call.bytes;
      }
      this.#queuedRecords -= records;
      this.#queuedBytes -= bytes;
      await this.#sendCalls(calls);
    }
  }

  /** Sends calls together; on a failure that may be one call's fault, recovers per partition (see below). */
  async #sendCalls(calls: PendingCall[]): Promise<void> {
    try {
      await this.#send(calls);
    } catch (error) {
      if (calls.length > 1 && !isConnectionFailure(error)) return await this.#recover(calls);
      for (const call of calls) call.reject(this.#errorFor(error, call));
    }
  }

  /**
   * After a merged send failed for a reason that may be one record's fault (a record over the topic's
   * `max.message.bytes`, a compacted topic refusing a null key, an ACL on one topic).
   *
   * The broker judges each partition of a produce request on its own: the other partitions' batches were
   * appended, yet kafkajs fails the whole request and rolls every partition's sequence number back. Resending
   * call by call would send a different batch at the rolled-back sequence: the broker refuses it
   * (`OUT_OF_ORDER_SEQUENCE_NUMBER`) and the partition stays wedged, or, without idempotence, appends duplicates.
   * So each partition's batch is first sent again exactly as before — same records, same order, same sequence
   * — which the broker recognises as a duplicate of what it appended and acknowledges with the original
   * offsets. Only a partition whose batch fails again was not appended; its records are then sent call by call,
   * in order, so only the faulty call fails (as the Java producer fails only the faulty record's future) —
   * unless the failure concerns the whole topic (unknown, not authorised): then its calls all fail at once.
   *
   * If the failed send never got as far as placing every record on a partition (no metadata for a topic),
   * nothing was sent and the calls are simply resent one by one.
   */
  async #recover(calls: PendingCall[]): Promise<void> {
    const failed = new Map<PendingCall, unknown>();
    const placed = new Map<Message, bigint>();
    const everyRecordPlaced = calls.every((c) => c.messages.every((m) => this.#chosen.has(m)));
    if (!everyRecordPlaced) {
      for (const call of calls) await this.#sendSlice(call.topic, call, call.messages, placed, failed);
    } else {
      for (const batch of this.#partitionBatches(calls)) {
        const all = batch.slices.flatMap(([, messages]) => messages);
        try {
          this.#placeAll(
            batch.topic,
            all,
            await this.#sendBatch([{ topic: batch.topic, messages: all }]),
            placed,
          );
        } catch (error) {
          if (isConnectionFailure(error) || isTopicLevel(error, batch.topic)) {
            // Not one record's fault: every call on this partition fails with it, without a resend each.
            for (const [call] of batch.slices) if (!failed.has(call)) failed.set(call, error);
            continue;
          }
          for (const [call, messages] of batch.slices) {
            await this.#sendSlice(batch.topic, call, messages, placed, failed);
          }
        }
      }
    }
    for (const call of calls) {
      const error = failed.get(call);
      if (error !== undefined) call.reject(this.#errorFor(error, call));
      else this.#resolveCall(call, placed);
    }
  }

  /** Sends one call's records of one partition (or of its topic) alone; records their offsets or the failure. */
  async #sendSlice(
    topic: string,
    call: PendingCall,
    messages: Message[],
    placed: Map<Message, bigint>,
    failed: Map<PendingCall, unknown>,
  ): Promise<void> {
    try {
      this.#placeAll(topic, messages, await this.#sendBatch([{ topic, messages }]), placed);
    } catch (error) {
      if (!failed.has(call)) failed.set(call, error);
    }
  }

  /**
   * The failed send's batches, one per partition in the order kafkajs built them, each as the calls' slices in
   * call order; every record is pinned to the partition it was placed on.
   */
  #partitionBatches(calls: PendingCall[]) {
    const batches = new Map<string, { topic: string; slices: [PendingCall, Message[]][] }>();
    for (const call of calls) {
      for (const message of call.messages) {
        const partition = this.#chosen.get(message)!;
        message.partition = partition;
        const key = `${call.topic}\u0000${partition}`;
        let batch = batches.get(key);
        if (!batch) batches.set(key, batch = { topic: call.topic, slices: [] });
        const last = batch.slices.at(-1);
        if (last && last[0] === call) last[1].push(message);
        else batch.slices.push([call, [message]]);
      }
    }
    return batches.values();
  }

  #errorFor(error: unknown, call: PendingCall): Error {
    if (isConnectionFailure(error)) this.#hooks.onConnectionLost(error);
    return publishErrorFrom(error, call.topic, call.messages.length, this.#options.brokers);
  }

  /** One `sendBatch` (idempotent, acks=all); a success tells the connector the brokers are reachable. */
  async #sendBatch(topicMessages: { topic: string; messages: Message[] }[]): Promise<RecordMetadata[]> {
    const metadata = await this.#producer.sendBatch({
      topicMessages,
      acks: -1,
      compression: codecType(this.#options.compression),
    });
    this.#hooks.onSendSucceeded();
    return metadata as RecordMetadata[];
  }

  /** Gives each message of one topic, in send order, its offset: its partition's base offset plus its rank. */
  #placeAll(
    topic: string,
    messages: Message[],
    metadata: RecordMetadata[],
    placed: Map<Message, bigint>,
  ): void {
    const next = new Map<number, bigint>();
    for (const m of metadata) {
      if (m.topicName === topic) next.set(m.partition, BigInt(m.baseOffset ?? "-1"));
    }
    for (const message of messages) {
      const partition = this.#partitionOf(message);
      const offset = next.get(partition) ?? -1n;
      if (offset >= 0n) next.set(partition, offset + 1n);
      placed.set(message, offset);
    }
  }

  #partitionOf(message: Message): number {
    return this.#chosen.get(message) ?? message.partition ?? -1;
  }

  async #send(calls: PendingCall[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const call of calls) {
      const list = byTopic.get(call.topic);
      if (list) list.push(...call.messages);
      else byTopic.set(call.topic, [...call.messages]);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const metadata = await this.#sendBatch(topicMessages);
    const placed = new Map<Message, bigint>();
    for (const { topic, messages } of topicMessages) this.#placeAll(topic, messages, metadata, placed);
    for (const call of calls) this.#resolveCall(call, placed);
  }

  /** Resolves a call with where each of its records landed, and counts it. */
  #resolveCall(call: PendingCall, placed: Map<Message, bigint>): void {
    const published = call.messages.map((message): PublishedRecord => ({
      topic: call.topic,
      partition: this.#partitionOf(message),
      offset: (placed.get(message) ?? -1n).toString(),
    }));
    if (this.#metrics) {
      const labels = { connector: "kafka", topic: call.topic };
      this.#metrics.recordsOut.inc(labels, call.messages.length);
      this.#metrics.bytesOut.inc(labels, call.bytes);
      this.#metrics.produceLatency.observe({ connector: "kafka" }, (performance.now() - call.started) / 1000);
    }
    call.resolve(published);
  }
}

/** Whether a failure concerns the whole topic (missing, not allowed), not one of its records. */
function isTopicLevel(error: unknown, topic: string): boolean {
  const typed = publishErrorFrom(error, topic, 0, []);
  return typed instanceof UnknownTopicError || typed instanceof AuthenticationError;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toMessage(record: OutgoingRecord): Message {
  const message: Message = {
    key: record.key === null ? null : typeof record.key === "string" ? record.key : toBuffer(record.key),
    value: record.value === null ? null : toBuffer(record.value),
  };
  if (record.headers) message.headers = { ...record.headers };
  if (record.timestamp !== undefined) message.timestamp = String(Math.trunc(record.timestamp));
  if (record.partition !== undefined) message.partition = record.partition;
  return message;
}

function recordSize(record: OutgoingRecord): number {
  let size = payloadBytes(record.key) + payloadBytes(record.value) + 70; // record + batch overhead
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    size += payloadBytes(name) + payloadBytes(value) + 4;
  }
  return size;
}
