/**
 * The batching publisher every source agent publishes through: it collects records per topic and publishes
 * a topic's records when `batchSize` of them are waiting or `lingerMs` passed since the first one, keeps at
 * most `maxInFlight` publishes unacknowledged, and makes a pull-based source wait while that many are pending
 * (backpressure: a fast source never grows memory). Push-based streams, which cannot wait, use
 * {@linkcode SourcePublisher.offer}, which drops (and reports) a record once `maxBuffered` are waiting.
 *
 * Positions (source offsets): a record may carry its source's position (a file line, a stream sequence), and
 * {@linkcode SourcePublisher.mark} records a position that needs no record. `onCheckpoint` receives the latest
 * position whose records, and every record queued before them, are acknowledged — batches of several topics and
 * several in flight may be acknowledged out of order, a checkpoint never skips an unacknowledged record.
 *
 * A publish that fails is not retried here (the main thread's producer already retries): the error is kept
 * and the next `add`, `offer` or `flush` throws it, so the agent's `run()` rejects and its supervisor decides.
 *
 * @module
 */
import type { AgentRecord } from "../runtime/agent_record.ts";
import { integerAtLeast } from "../../core/integer_at_least.ts";

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
  /** Called with the latest position all of whose records (and all before them) are acknowledged. */
  onCheckpoint?(position: unknown): void;
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
  readonly #buffers = new Map<string, Queued[]>();
  /** Sequence numbers of records queued or in flight, in queue order (a Set iterates in insertion order). */
  readonly #unacked = new Set<number>();
  /** Positions not yet checkpointed: [sequence of the last record queued before or with it, position]. */
  #positions: Array<[number, unknown]> = [];
  #seq = 0;
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
    this.batchSize = integerAtLeast("create source publisher", "batchSize", options.batchSize ?? 500, 1);
    this.lingerMs = integerAtLeast("create source publisher", "lingerMs", options.lingerMs ?? 20, 0);
    this.maxInFlight = integerAtLeast("create source publisher", "maxInFlight", options.maxInFlight ?? 4, 1);
    this.maxBuffered = integerAtLeast(
      "create source publisher",
      "maxBuffered",
      options.maxBuffered ?? 10_000,
      this.batchSize,
    );
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
   * @param position the source's position once this record is published (checkpointed after its ack)
   * @returns resolves when the source may produce the next record
   * @throws the error of an earlier failed publish
   */
  async add(topic: string, record: AgentRecord, position?: unknown): Promise<void> {
    this.#throwIfFailed();
    this.#push(topic, record, position);
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
   * @param position the source's position once this record is published (a dropped record's still counts)
   * @returns false when the record was dropped because `maxBuffered` records are waiting
   * @throws the error of an earlier failed publish
   */
  offer(topic: string, record: AgentRecord, position?: unknown): boolean {
    this.#throwIfFailed();
    if (this.#buffered >= this.maxBuffered) {
      this.#dropped++;
      if (position !== undefined) this.mark(position);
      return false;
    }
    this.#push(topic, record, position);
    return true;
  }

  /**
   * Records a position that needs no record of its own (a skipped line, the end of a file): it is checkpointed
   * once every record queued before it is acknowledged — at once when none is pending.
   *
   * @param position the source's position
   */
  mark(position: unknown): void {
    this.#positions.push([this.#seq, position]);
    this.#advance();
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

  #push(topic: string, record: AgentRecord, position: unknown): void {
    let buffer = this.#buffers.get(topic);
    if (buffer === undefined) this.#buffers.set(topic, buffer = []);
    const seq = ++this.#seq;
    buffer.push({ seq, record });
    this.#unacked.add(seq);
    if (position !== undefined) this.#positions.push([seq, position]);
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

  #send(topic: string, queued: Queued[]): void {
    const records = queued.map((q) => q.record);
    this.#buffered -= records.length;
    this.#inFlight++;
    this.#maxInFlightSeen = Math.max(this.#maxInFlightSeen, this.#inFlight);
    const started = performance.now();
    this.#options.publish(topic, records).then(
      () => {
        this.#published += records.length;
        this.#options.onPublished?.(topic, records.length, (performance.now() - started) / 1000);
        for (const q of queued) this.#unacked.delete(q.seq);
        this.#advance();
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

  /** Checkpoints the latest position none of whose records (nor any before them) is still unacknowledged. */
  #advance(): void {
    if (this.#error !== undefined || this.#positions.length === 0) return;
    const lowest = this.#unacked.values().next();
    const firstUnacked = lowest.done ? Infinity : lowest.value;
    let covered = 0;
    while (covered < this.#positions.length && this.#positions[covered]![0] < firstUnacked) covered++;
    if (covered === 0) return;
    const position = this.#positions[covered - 1]![1];
    this.#positions = this.#positions.slice(covered);
    this.#options.onCheckpoint?.(position);
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

interface Queued {
  seq: number;
  record: AgentRecord;
}
