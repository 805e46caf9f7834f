/**
 * The batching publisher every source agent publishes through: it collects records per topic and publishes
 * a topic's records when `batchSize` of them are waiting or `lingerMs` passed since the first one, keeps at
 * most `maxInFlight` publishes unacknowledged, and makes a pull-based source wait while that many are pending
 * (backpressure: a fast source never grows memory). Push-based streams, which cannot wait, use
 * {@linkcode SourcePublisher.offer}, which drops (and reports) a record once `maxBuffered` are waiting.
 *
 * A publish that fails is not retried here (the main thread's producer already retries): the error is kept
 * and the next `add`, `offer` or `flush` throws it, so the agent's `run()` rejects and its supervisor decides.
 *
 * @module
 */
import type { AgentRecord } from "../runtime/agent_record.ts";

/** Options of {@linkcode SourcePublisher}. */
export interface SourcePublisherOptions {
  /** Publishes one batch (`ctx.publish`); resolves when the log acknowledged it. */
  publish(topic: string, records: AgentRecord[]): Promise<unknown>;
  /** Records per publish, and how many may wait per topic before the batch goes out. Default 500. */
  batchSize?: number;
  /** Longest time a record waits for its batch to fill, in ms. Default 20. */
  lingerMs?: number;
  /** Publishes allowed unacknowledged at once. Default 4. */
  maxInFlight?: number;
  /** Records that may wait (over all topics) before `offer` drops. Default 10 000. */
  maxBuffered?: number;
  /** Called after each acknowledged publish with its topic, record count and duration in seconds. */
  onPublished?(topic: string, count: number, seconds: number): void;
  /** Called once, with the first failed publish's error. */
  onError?(error: unknown): void;
}

/**
 * Batches, publishes and bounds what a source has in flight.
 *
 * @example
 * ```ts
 * const out = new SourcePublisher({ publish: (t, r) => ctx.publish(t, r), batchSize: 500, maxInFlight: 4 });
 * for (const tick of ticks) await out.add("market.ticks", { key: tick.symbol, value: tick });
 * await out.flush();
 * ```
 */
export class SourcePublisher {
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly maxInFlight: number;
  readonly maxBuffered: number;
  readonly #options: SourcePublisherOptions;
  readonly #buffers = new Map<string, AgentRecord[]>();
  #buffered = 0;
  #inFlight = 0;
  #maxInFlightSeen = 0;
  #published = 0;
  #dropped = 0;
  #due = false;
  #flushing = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #error: unknown;
  #waiters: Array<() => void> = [];

  /** @throws {RangeError} when a size or time is not a positive integer (linger may be 0) */
  constructor(options: SourcePublisherOptions) {
    this.#options = options;
    this.batchSize = positiveInt("batchSize", options.batchSize ?? 500, 1);
    this.lingerMs = positiveInt("lingerMs", options.lingerMs ?? 20, 0);
    this.maxInFlight = positiveInt("maxInFlight", options.maxInFlight ?? 4, 1);
    this.maxBuffered = positiveInt("maxBuffered", options.maxBuffered ?? 10_000, this.batchSize);
  }

  /** Records waiting to be published. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Publishes not yet acknowledged. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The most publishes that were ever in flight at once. */
  get maxInFlightSeen(): number {
    return this.#maxInFlightSeen;
  }

  /** Records acknowledged so far. */
  get published(): number {
    return this.#published;
  }

  /** Records `offer` dropped because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Queues a record; waits while `maxInFlight` publishes are pending and a full batch is waiting.
   *
   * @param topic target topic
   * @param record the record (plain value, or bytes published as they are)
   * @returns resolves when the source may produce the next record
   * @throws the error of an earlier failed publish
   */
  async add(topic: string, record: AgentRecord): Promise<void> {
    this.#throwIfFailed();
    this.#push(topic, record);
    while (this.#buffered >= this.batchSize && this.#inFlight >= this.maxInFlight) {
      await this.#changed();
      this.#throwIfFailed();
    }
  }

  /**
   * Queues a record without waiting (for push-based streams).
   *
   * @param topic target topic
   * @param record the record
   * @returns false when the record was dropped because `maxBuffered` records are waiting
   * @throws the error of an earlier failed publish
   */
  offer(topic: string, record: AgentRecord): boolean {
    this.#throwIfFailed();
    if (this.#buffered >= this.maxBuffered) {
      this.#dropped++;
      return false;
    }
    this.#push(topic, record);
    return true;
  }

  /**
   * Publishes everything waiting and waits until every publish is acknowledged.
   *
   * @throws the error of a failed publish
   */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      this.#pump();
      while (this.#error === undefined && (this.#buffered > 0 || this.#inFlight > 0)) {
        await this.#changed();
        this.#pump();
      }
      this.#throwIfFailed();
    } finally {
      this.#flushing--;
    }
  }

  #push(topic: string, record: AgentRecord): void {
    let buffer = this.#buffers.get(topic);
    if (buffer === undefined) this.#buffers.set(topic, buffer = []);
    buffer.push(record);
    this.#buffered++;
    if (buffer.length >= this.batchSize || this.#flushing > 0) this.#pump();
    if (this.#buffered > 0 && this.#timer === undefined && !this.#due) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#due = true;
        this.#pump();
      }, this.lingerMs);
    }
  }

  #pump(): void {
    const force = this.#due || this.#flushing > 0;
    for (const [topic, buffer] of this.#buffers) {
      while (this.#inFlight < this.maxInFlight && this.#error === undefined) {
        if (buffer.length === 0 || (buffer.length < this.batchSize && !force)) break;
        this.#send(topic, buffer.splice(0, this.batchSize));
      }
    }
    if (this.#buffered === 0) {
      this.#due = false;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #send(topic: string, records: AgentRecord[]): void {
    this.#buffered -= records.length;
    this.#inFlight++;
    this.#maxInFlightSeen = Math.max(this.#maxInFlightSeen, this.#inFlight);
    const started = performance.now();
    this.#options.publish(topic, records).then(
      () => {
        this.#published += records.length;
        this.#options.onPublished?.(topic, records.length, (performance.now() - started) / 1000);
      },
      (e) => {
        if (this.#error !== undefined) return;
        this.#error = e;
        this.#options.onError?.(e);
      },
    ).finally(() => {
      this.#inFlight--;
      this.#pump();
      this.#notify();
    });
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error;
  }
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(
      `Cannot create source publisher: ${name} must be an integer >= ${min}, current value is ${v}`,
    );
  }
  return v;
}
