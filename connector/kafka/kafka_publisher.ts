/**
 * The Kafka connector's producer side: an idempotent kafkajs producer (acks=all) behind a linger batcher.
 *
 * Concurrent `publish` calls are coalesced: the first call after an idle period waits `linger` ms (default 0:
 * the next macrotask; or until `batchRecords`/`batchBytes` are queued), then everything queued goes out in one
 * `sendBatch`. While a send is in
 * flight, new calls queue and leave together as soon as it completes. Each call still resolves only when its
 * own records are acknowledged, with the partition and offset of each. If a coalesced send fails for a reason
 * that may belong to one call (a record too large, an unknown topic), the calls are sent again one by one so
 * only the faulty call fails; the idempotent producer makes the resend safe.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Message, Partitioners, type Producer, type RecordMetadata } from "kafkajs";
import type { OutgoingRecord, PublishedRecord } from "../types.ts";
import { type ConnectorMetrics, payloadBytes } from "../connector_metrics.ts";
import { ConnectorClosedError, RecordTooLargeError } from "../errors.ts";
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

  /** Sends calls together; on a failure that may be one call's fault, resends them one by one. */
  async #sendCalls(calls: PendingCall[]): Promise<void> {
    try {
      await this.#send(calls);
    } catch (error) {
      if (calls.length > 1 && !isConnectionFailure(error)) {
        for (const call of calls) {
          try {
            await this.#send([call]);
          } catch (single) {
            call.reject(this.#errorFor(single, call));
          }
        }
        return;
      }
      for (const call of calls) call.reject(this.#errorFor(error, call));
    }
  }

  #errorFor(error: unknown, call: PendingCall): Error {
    if (isConnectionFailure(error)) this.#hooks.onConnectionLost(error);
    return publishErrorFrom(error, call.topic, call.messages.length, this.#options.brokers);
  }

  async #send(calls: PendingCall[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const call of calls) {
      const list = byTopic.get(call.topic);
      if (list) list.push(...call.messages);
      else byTopic.set(call.topic, [...call.messages]);
    }
    const metadata = await this.#producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      acks: -1,
      compression: codecType(this.#options.compression),
    });
    this.#hooks.onSendSucceeded();
    const base = new Map<string, bigint>();
    for (const m of metadata as RecordMetadata[]) {
      base.set(`${m.topicName}\u0000${m.partition}`, BigInt(m.baseOffset ?? "-1"));
    }
    const next = new Map<string, bigint>(base);
    const now = performance.now();
    for (const call of calls) {
      const published: PublishedRecord[] = [];
      for (const message of call.messages) {
        const partition = this.#chosen.get(message) ?? message.partition ?? -1;
        const key = `${call.topic}\u0000${partition}`;
        const offset = next.get(key) ?? -1n;
        if (offset >= 0n) next.set(key, offset + 1n);
        published.push({ topic: call.topic, partition, offset: offset.toString() });
      }
      if (this.#metrics) {
        const labels = { connector: "kafka", topic: call.topic };
        this.#metrics.recordsOut.inc(labels, call.messages.length);
        this.#metrics.bytesOut.inc(labels, call.bytes);
        this.#metrics.produceLatency.observe({ connector: "kafka" }, (now - call.started) / 1000);
      }
      call.resolve(published);
    }
  }
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
