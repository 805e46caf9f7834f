/**
 * The fetch-and-deliver loop of one partition owned by a group member: reads batches from the partition log,
 * hands them to `onBatch` one at a time, waits for new records, honours pause/resume, and redelivers a rejected
 * batch (from the committed position) after a backoff. A read that fails (an I/O error) is reported as an `error`
 * status naming the partition and offset and retried with the same backoff: the fetcher never stops silently.
 *
 * @module
 */

import { sleepOrAbort } from "../../core/abortable_sleep.ts";
import { ConnectorError } from "../errors.ts";
import { getLogger } from "../../core/log.ts";

const logger = getLogger("connector.embedded");
import type { PartitionBatch } from "../types.ts";
import type { GroupMember } from "./group_member.ts";
import { asError, type GroupHost } from "./group_types.ts";
import { OffsetOutOfRangeError, type PartitionLog } from "./partition_log.ts";
import { backoffDelay } from "../../core/backoff_delay.ts";

/** The fetch-and-deliver loop of one owned partition. */
export class PartitionFetcher {
  readonly topic: string;
  readonly partition: number;
  readonly #member: GroupMember;
  readonly #host: GroupHost;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #paused = false;
  #position: number | null = null;
  #done: Promise<void> = Promise.resolve();

  constructor(member: GroupMember, host: GroupHost, topic: string, partition: number) {
    this.#member = member;
    this.#host = host;
    this.topic = topic;
    this.partition = partition;
    const log = this.log;
    if (log) {
      // Resolve the start now: "latest" means the high watermark at assignment time.
      this.#position = host.committed(member.group, topic, partition) ?? member.resetPosition(log);
    }
  }

  get log(): PartitionLog | undefined {
    return this.#host.partitionLog(this.topic, this.partition);
  }

  start(): void {
    this.#done = this.#run().catch((e) => {
      this.#member.sink.emit({ type: "error", error: asError(e), group: this.#member.group });
    });
  }

  setPaused(paused: boolean): void {
    this.#paused = paused;
    this.#wakeUp();
  }

  /** Stops fetching and waits (up to `timeoutMs`) for the batch in flight to settle. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stop.abort();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#done,
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  #wakeUp(): void {
    const old = this.#wake;
    this.#wake = new AbortController();
    old.abort();
  }

  #signal(): AbortSignal {
    return AbortSignal.any([this.#stop.signal, this.#wake.signal]);
  }

  async #run(): Promise<void> {
    const { maxBatchRecords, maxBatchBytes, retryBackoffMs, maxRetryBackoffMs } = this.#member.sink.settings;
    const retryDelay = (failures: number) =>
      backoffDelay(failures - 1, {
        initialMs: Math.min(retryBackoffMs, maxRetryBackoffMs),
        maxMs: maxRetryBackoffMs,
        jitter: 0,
      });
    const stop = this.#stop.signal;
    let batch: PartitionBatch | null = null;
    let attempts = 0;
    let readFailures = 0;
    while (!stop.aborted) {
      if (this.#paused) {
        await waitAbort(this.#signal());
        continue;
      }
      const log = this.log;
      if (!log) {
        await waitAbort(this.#signal()); // topic deleted: the coming rebalance revokes us
        continue;
      }
      this.#position ??= this.#host.committed(this.#member.group, this.topic, this.partition) ??
        this.#member.resetPosition(log);
      if (!batch) {
        try {
          const stored = await log.read(this.#position, maxBatchRecords, maxBatchBytes);
          readFailures = 0;
          if (stored.length === 0) {
            await log.waitFor(this.#position, this.#signal());
            continue;
          }
          batch = {
            topic: this.topic,
            partition: this.partition,
            highWatermark: String(log.high),
            records: stored.map((r) => ({
              topic: this.topic,
              partition: this.partition,
              offset: String(r.offset),
              key: r.key,
              value: r.value,
              headers: r.headers,
              timestamp: r.timestamp,
            })),
          };
        } catch (e) {
          if (e instanceof OffsetOutOfRangeError) {
            this.#position = this.#member.resetPosition(log);
            continue;
          }
          readFailures++;
          const delay = retryDelay(readFailures);
          const cause = asError(e);
          logger.warn("Reading {topic}[{partition}] at {offset} failed, retrying in {delay} ms: {error}", {
            topic: this.topic,
            partition: this.partition,
            offset: this.#position,
            delay,
            error: cause.message,
          });
          this.#member.sink.emit({
            type: "error",
            error: new ConnectorError(
              `Cannot read ${this.topic}[${this.partition}] at offset ${this.#position}: ${cause.message}; ` +
                `retrying in ${delay} ms`,
              { cause, retriable: true },
            ),
            group: this.#member.group,
          });
          await sleepOrAbort(delay, stop);
          continue;
        }
      }
      if (stop.aborted || this.#paused) continue;
      const current: PartitionBatch = batch;
      try {
        await Promise.resolve().then(() => this.#member.options.onBatch(current));
        this.#position = Number(current.records.at(-1)!.offset) + 1;
        this.#member.sink.delivered(this.#member.group, current);
        batch = null;
        attempts = 0;
      } catch (e) {
        attempts++;
        this.#member.sink.emit({ type: "error", error: asError(e), group: this.#member.group });
        // Redeliver the batch from the committed position: records the handler committed before failing are done.
        const committed = this.#host.committed(this.#member.group, this.topic, this.partition) ?? -1;
        const rest = current.records.filter((r) => Number(r.offset) >= committed);
        if (rest.length === 0) {
          this.#position = Number(current.records.at(-1)!.offset) + 1;
          batch = null;
          continue;
        }
        batch = { ...current, records: rest };
        const delay = retryDelay(attempts);
        await sleepOrAbort(delay, stop);
      }
    }
  }
}

function waitAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
