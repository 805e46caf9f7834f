/**
 * One partition of the embedded log: a directory of append-only segment files (`<base offset>.log`, 20 digits),
 * each a run of frames (see `segment_frame.ts`). The index (frame positions) is rebuilt in memory on open; a torn
 * last frame is truncated away. Records become visible to readers only once written and flushed, so nothing a
 * consumer sees can be lost by a crash.
 *
 * Short faults: a write round (one group commit) is all or nothing. When a write or `fsync` fails (a full disk,
 * an I/O error), the round is undone — the file truncated back, segments it rolled into removed — and retried
 * with backoff for up to `writeRetryMs`, as Kafka's producer retries a batch until `delivery.timeout.ms`; only
 * then are its appends rejected (retriable), and the partition keeps accepting appends. Only a failure to undo
 * (the file's state is unknown) fails the partition until it is reopened. Readers hold at most
 * {@linkcode MAX_OPEN_READERS} segment files open; a read error closes the file so the next read reopens it.
 *
 * @module
 */

import { join } from "node:path";
import { decodeFrames, encodeFrame, scanFrames, type StoredRecord } from "./segment_frame.ts";
import { LogCorruptionError } from "./embedded_errors.ts";
import { ConnectorError, type ConnectorErrorOptions } from "../errors.ts";
import { syncDir } from "./_sync_dir.ts";
import { denoLogFs, type LogFile, type LogFs } from "./log_fs.ts";
import { sleepOrAbort } from "../../core/abortable_sleep.ts";
import { backoffDelay } from "../../core/backoff_delay.ts";

/** Segment files a partition keeps open for reading at most (the least recently read is closed first). */
export const MAX_OPEN_READERS = 2;

/** How a partition log writes. */
export interface PartitionLogOptions {
  /** Roll to a new segment once the active one reaches this size (bytes). */
  segmentBytes: number;
  /** `true` (default): fsync before an append resolves; `false`: only write to the OS. */
  fsync: boolean;
  /** How long a failing write is retried before its appends are rejected (default 30 000 ms). */
  writeRetryMs?: number;
  /** The file operations on segments (default: the real file system); a seam for fault injection. */
  fs?: LogFs;
  /** Told of each failed write attempt (the round is retried unless `final`). */
  onWriteError?: (error: Error, final: boolean) => void;
}

/** What `open` found on disk. */
export interface RecoveryReport {
  segments: number;
  records: number;
  /** Bytes of a torn or corrupt tail that were truncated from the last segment. */
  truncatedBytes: number;
}

interface Segment {
  baseOffset: number;
  path: string;
  /** Byte position of each durable frame; index i holds offset baseOffset + i. */
  positions: number[];
  /** Durable size in bytes. */
  size: number;
  maxTimestamp: number;
  reader?: LogFile;
  lock: Promise<void>;
  deleted: boolean;
}

interface PendingAppend {
  records: Omit<StoredRecord, "offset">[];
  /** Offsets assigned at append (renumbered if an earlier round is given up), and the frames encoding them. */
  offsets: number[];
  frames: Uint8Array[];
  resolve(offsets: number[]): void;
  reject(error: Error): void;
}

/** Where one write round puts its frames: a segment, and what the round added to it. */
interface RoundTarget {
  segment: Segment;
  /** Created by this round (not yet visible to readers). */
  fresh: boolean;
  /** Segment size when the round started writing to it. */
  startSize: number;
  positions: number[];
  size: number;
  maxTimestamp: number;
}

/** A partition's write failed and could not be undone, or kept failing past the retry window. */
export class LogWriteError extends ConnectorError {
  constructor(dir: string, detail: string, options: ConnectorErrorOptions = {}) {
    super(`Cannot write to the embedded log partition ${dir}: ${detail}`, options);
    this.name = "LogWriteError";
  }
}

/** Raised internally when a read asks for an offset below the log start (deleted by retention). */
export class OffsetOutOfRangeError extends RangeError {
  /** Reading the same offset again fails the same way (the fetcher resets its position instead). */
  readonly retriable = false;
  constructor(readonly offset: number, readonly low: number, readonly high: number) {
    super(`Cannot read offset ${offset}: the partition holds offsets ${low} to ${high - 1}`);
    this.name = "OffsetOutOfRangeError";
  }
}

/** A partition's segment files, appends and reads. */
export class PartitionLog {
  readonly #dir: string;
  readonly #options: PartitionLogOptions;
  readonly #segments: Segment[];
  readonly #fs: LogFs;
  #writer: LogFile;
  /** The offset the next appended record gets. */
  #nextOffset: number;
  /** Segments with an open reader, least recently read first. */
  #readers: Segment[] = [];
  #pending: PendingAppend[] = [];
  #flushing: Promise<void> | null = null;
  #chain: Promise<void> = Promise.resolve();
  #waiters = new Set<() => void>();
  #failed: Error | null = null;
  #closed = false;
  /** Aborted by close(): a write retry stops waiting. */
  #closing = new AbortController();

  private constructor(
    dir: string,
    options: PartitionLogOptions,
    segments: Segment[],
    writer: LogFile,
    fs: LogFs,
  ) {
    this.#dir = dir;
    this.#options = options;
    this.#segments = segments;
    this.#writer = writer;
    this.#fs = fs;
    this.#nextOffset = this.high;
  }

  /**
   * Opens (or creates) a partition directory, rebuilding the index and truncating a torn last frame.
   *
   * @param dir The partition directory.
   * @param options Write options.
   * @returns The log and what recovery found.
   * @throws {LogCorruptionError} If a sealed segment is damaged or offsets are not contiguous.
   */
  static async open(
    dir: string,
    options: PartitionLogOptions,
  ): Promise<{ log: PartitionLog; report: RecoveryReport }> {
    await Deno.mkdir(dir, { recursive: true });
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /^\d{20}\.log$/.test(entry.name)) names.push(entry.name);
    }
    names.sort();
    const segments: Segment[] = [];
    const report: RecoveryReport = { segments: 0, records: 0, truncatedBytes: 0 };
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const path = join(dir, name);
      const baseOffset = Number(name.slice(0, 20));
      const data = await Deno.readFile(path);
      const scan = scanFrames(data);
      const last = i === names.length - 1;
      if (scan.validLength < data.length) {
        if (!last) {
          throw new LogCorruptionError(path, scan.validLength, "a sealed segment has a damaged frame");
        }
        await Deno.truncate(path, scan.validLength);
        report.truncatedBytes += data.length - scan.validLength;
      }
      scan.offsets.forEach((offset, k) => {
        if (offset !== baseOffset + k) {
          throw new LogCorruptionError(
            path,
            scan.positions[k]!,
            `expected offset ${baseOffset + k}, found ${offset}`,
          );
        }
      });
      const previous = segments.at(-1);
      if (previous && previous.baseOffset + previous.positions.length !== baseOffset) {
        throw new LogCorruptionError(
          path,
          0,
          `segment starts at ${baseOffset}, the previous one ends before it`,
        );
      }
      segments.push({
        baseOffset,
        path,
        positions: scan.positions,
        size: scan.validLength,
        maxTimestamp: scan.maxTimestamp,
        lock: Promise.resolve(),
        deleted: false,
      });
      report.records += scan.positions.length;
    }
    const fresh = segments.length === 0;
    if (fresh) segments.push(newSegment(dir, 0));
    report.segments = segments.length;
    const fs = options.fs ?? denoLogFs;
    const writer = await fs.open(segments.at(-1)!.path, { create: true, write: true, append: true });
    if (fresh && options.fsync) await syncDir(dir);
    return { log: new PartitionLog(dir, options, segments, writer, fs), report };
  }

  /** The error that failed the partition until it is reopened, if any. */
  get failure(): Error | null {
    return this.#failed;
  }

  /** Earliest offset still held. */
  get low(): number {
    const first = this.#segments.find((s) => s.positions.length > 0);
    return first ? first.baseOffset : this.high;
  }

  /** High watermark: the next offset to become durable (everything below it is readable). */
  get high(): number {
    const last = this.#segments.at(-1)!;
    return last.baseOffset + last.positions.length;
  }

  /** Bytes held on disk by this partition. */
  get size(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0);
  }

  /**
   * Assigns offsets now, in call order (so concurrent appends keep it), encodes the records and queues them for
   * the next write round; appends arriving while a round runs are written together by the next one (group
   * commit). A round given up after its retries leaves no hole: the appends queued behind it are renumbered.
   *
   * @param records The records without offsets.
   * @returns Their offsets, once they are durable.
   * @throws {LogWriteError} If the partition failed, or the round kept failing for `writeRetryMs` (retriable:
   *   nothing of the call was written).
   */
  append(records: Omit<StoredRecord, "offset">[]): Promise<number[]> {
    if (this.#closed) throw new Error(`Cannot append to ${this.#dir}: the log is closed`);
    if (this.#failed) throw this.#failed;
    const offsets = records.map(() => this.#nextOffset++);
    const frames = records.map((record, i) => encodeFrame({ ...record, offset: offsets[i]! }));
    const durable = new Promise<number[]>((resolve, reject) => {
      this.#pending.push({ records, offsets, frames, resolve, reject });
    });
    this.#kick();
    return durable;
  }

  #kick(): void {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = this.#serial(() => this.#flush()).finally(() => {
      this.#flushing = null;
      this.#kick();
    });
  }

  /** Writes one round, retrying it (undone each time) while it fails, for up to `writeRetryMs`. */
  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      if (this.#failed) throw this.#failed;
      const frames = batch.flatMap((b) => b.frames);
      const timestamps = batch.flatMap((b) => b.records.map((r) => r.timestamp));
      const retryMs = this.#options.writeRetryMs ?? 30_000;
      const started = Date.now();
      for (let attempt = 1;; attempt++) {
        try {
          await this.#writeRound(frames, timestamps);
          break;
        } catch (cause) {
          if (this.#failed) throw this.#failed;
          const final = this.#closing.signal.aborted || Date.now() - started >= retryMs;
          const error = cause instanceof Error ? cause : new Error(String(cause));
          this.#options.onWriteError?.(error, final);
          if (final) {
            this.#renumberPending();
            throw new LogWriteError(this.#dir, `the write kept failing for ${Date.now() - started} ms`, {
              cause,
              retriable: true,
            });
          }
          await sleepOrAbort(
            backoffDelay(attempt - 1, { initialMs: 50, maxMs: 1000, jitter: 0 }),
            this.#closing.signal,
          );
        }
      }
      for (const b of batch) b.resolve(b.offsets);
    } catch (e) {
      for (const b of batch) b.reject(e as Error);
    } finally {
      this.#notify();
    }
  }

  /** After a round was given up (nothing of it written): the queued appends take its offsets, in order. */
  #renumberPending(): void {
    this.#nextOffset = this.high;
    for (const b of this.#pending) {
      b.offsets = b.records.map(() => this.#nextOffset++);
      b.frames = b.records.map((record, i) => encodeFrame({ ...record, offset: b.offsets[i]! }));
    }
  }

  /**
   * Writes (and fsyncs) every frame, rolling segments as needed, then makes them visible at once. On a failure
   * the round is undone — files truncated to their size before the round, segments it created removed — so a
   * retry writes it again from scratch; a failure to undo fails the partition.
   */
  async #writeRound(frames: Uint8Array[], timestamps: number[]): Promise<void> {
    const active = this.#segments.at(-1)!;
    const first: RoundTarget = {
      segment: active,
      fresh: false,
      startSize: active.size,
      positions: [],
      size: active.size,
      maxTimestamp: active.maxTimestamp,
    };
    const targets = [first];
    let target = first;
    try {
      let i = 0;
      while (i < frames.length) {
        if (target.size > 0 && target.size + frames[i]!.length > this.#options.segmentBytes) {
          const segment = newSegment(this.#dir, this.high + i);
          closeQuietly(this.#writer);
          target = { segment, fresh: true, startSize: 0, positions: [], size: 0, maxTimestamp: -1 };
          targets.push(target);
          this.#writer = await this.#fs.open(segment.path, { create: true, write: true, append: true });
          if (this.#options.fsync) await syncDir(this.#dir);
        }
        let j = i;
        let bytes = 0;
        while (
          j < frames.length &&
          ((j === i && target.size === 0) ||
            target.size + bytes + frames[j]!.length <= this.#options.segmentBytes)
        ) {
          bytes += frames[j]!.length;
          j++;
        }
        await writeAll(this.#writer, concat(frames.slice(i, j), bytes));
        if (this.#options.fsync) await this.#writer.syncData();
        for (let k = i; k < j; k++) {
          target.positions.push(target.size);
          target.size += frames[k]!.length;
          target.maxTimestamp = Math.max(target.maxTimestamp, timestamps[k]!);
        }
        i = j;
      }
    } catch (error) {
      await this.#undoRound(targets);
      throw error;
    }
    for (const t of targets) {
      t.segment.positions.push(...t.positions);
      t.segment.size = t.size;
      t.segment.maxTimestamp = t.maxTimestamp;
      if (t.fresh) this.#segments.push(t.segment);
    }
  }

  async #undoRound(targets: RoundTarget[]): Promise<void> {
    try {
      if (targets.length > 1) {
        closeQuietly(this.#writer);
        for (const t of targets.slice(1)) await Deno.remove(t.segment.path).catch(() => {});
        this.#writer = await this.#fs.open(targets[0]!.segment.path, { write: true, append: true });
      }
      await this.#writer.truncate(targets[0]!.startSize);
    } catch (cause) {
      this.#failed = new LogWriteError(
        this.#dir,
        "a failed write could not be undone; reopen the log to recover",
        {
          cause,
          retriable: false,
        },
      );
    }
  }

  async #roll(): Promise<Segment> {
    this.#writer.close();
    const segment = newSegment(this.#dir, this.high);
    this.#segments.push(segment);
    this.#writer = await this.#fs.open(segment.path, { create: true, write: true, append: true });
    if (this.#options.fsync) await syncDir(this.#dir);
    return segment;
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.then(() => {}, () => {});
    return run;
  }

  /**
   * Reads up to `maxRecords` durable records starting at `from` (within one segment per call).
   *
   * @param from First offset to read.
   * @param maxRecords Most records to return.
   * @param maxBytes Soft byte limit (at least one record is returned when available).
   * @returns The records; empty when `from` is at the high watermark.
   * @throws {OffsetOutOfRangeError} If `from` is below the earliest offset or above the high watermark.
   */
  async read(from: number, maxRecords: number, maxBytes: number): Promise<StoredRecord[]> {
    for (;;) {
      const high = this.high;
      if (from === high || this.#closed) return [];
      const low = this.low;
      if (from < low || from > high) throw new OffsetOutOfRangeError(from, low, high);
      const segment = this.#segmentFor(from);
      let records: StoredRecord[] | null = null;
      const run = segment.lock.then(async () => {
        if (segment.deleted) return;
        const i = from - segment.baseOffset;
        const count = segment.positions.length;
        const start = segment.positions[i]!;
        let j = i + 1;
        const limit = Math.min(count, i + maxRecords);
        while (j < limit && (segment.positions[j + 1] ?? segment.size) - start <= maxBytes) j++;
        const end = segment.positions[j] ?? segment.size;
        const reader = await this.#reader(segment);
        try {
          await reader.seek(start, Deno.SeekMode.Start);
          const buffer = new Uint8Array(end - start);
          let got = 0;
          while (got < buffer.length) {
            const n = await reader.read(buffer.subarray(got));
            if (n === null) throw new Error(`Unexpected end of ${segment.path} at ${start + got}`);
            got += n;
          }
          records = decodeFrames(buffer);
        } catch (e) {
          this.#closeReader(segment); // the next read reopens the file
          throw e;
        }
      });
      segment.lock = run.then(() => {}, () => {});
      await run;
      if (records) return records;
    }
  }

  /** The segment's open reader (opened now if needed), keeping at most MAX_OPEN_READERS open. */
  async #reader(segment: Segment): Promise<LogFile> {
    const i = this.#readers.indexOf(segment);
    if (i >= 0) this.#readers.splice(i, 1);
    this.#readers.push(segment);
    while (this.#readers.length > MAX_OPEN_READERS) {
      const evicted = this.#readers.shift()!;
      // Under its own lock: a read of it in progress finishes first.
      evicted.lock = evicted.lock.then(() => {
        if (!this.#readers.includes(evicted)) this.#closeReader(evicted);
      });
    }
    segment.reader ??= await this.#fs.open(segment.path, { read: true });
    return segment.reader;
  }

  #closeReader(segment: Segment): void {
    try {
      segment.reader?.close();
    } catch {
      // already closed
    }
    segment.reader = undefined;
    const i = this.#readers.indexOf(segment);
    if (i >= 0) this.#readers.splice(i, 1);
  }

  #segmentFor(offset: number): Segment {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.#segments[lo]!;
  }

  /**
   * Resolves once the high watermark passes `offset`, the log closes, or the signal aborts.
   *
   * @param offset The offset waited for.
   * @param signal Stops the wait.
   */
  waitFor(offset: number, signal: AbortSignal): Promise<void> {
    if (this.high > offset || this.#closed || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * Deletes whole sealed segments past the retention limits, oldest first. An active segment whose newest record
   * is older than `retentionMs` is rolled first so it can go too.
   *
   * @param retentionMs Time limit (`-1` or `Infinity`: none).
   * @param retentionBytes Size limit for the partition (`-1` or `Infinity`: none).
   * @param now Current time in ms.
   * @returns Number of segments deleted.
   */
  applyRetention(retentionMs: number, retentionBytes: number, now = Date.now()): Promise<number> {
    return this.#serial(async () => {
      if (this.#closed) return 0;
      const timeLimit = retentionMs >= 0 ? now - retentionMs : -Infinity;
      const active = this.#segments.at(-1)!;
      if (active.positions.length > 0 && active.maxTimestamp < timeLimit) await this.#roll();
      let deleted = 0;
      let total = this.size;
      while (this.#segments.length > 1) {
        const oldest = this.#segments[0]!;
        const expired = oldest.maxTimestamp < timeLimit;
        const oversize = retentionBytes >= 0 && total - oldest.size >= retentionBytes;
        if (!expired && !oversize) break;
        this.#segments.shift();
        total -= oldest.size;
        await this.#deleteSegment(oldest);
        deleted++;
      }
      return deleted;
    });
  }

  async #deleteSegment(segment: Segment): Promise<void> {
    const run = segment.lock.then(async () => {
      segment.deleted = true;
      this.#closeReader(segment);
      await Deno.remove(segment.path);
    });
    segment.lock = run.then(() => {}, () => {});
    await run;
  }

  /** Waits for pending appends to be durable. */
  async flush(): Promise<void> {
    while (this.#flushing || this.#pending.length > 0) {
      this.#kick();
      await this.#flushing?.catch(() => {});
    }
  }

  /** Flushes, then closes the files. Waiting readers are released. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing.abort();
    await this.flush();
    await this.#serial(async () => {
      this.#closed = true;
      this.#writer.close();
      for (const s of this.#segments) {
        await s.lock;
        this.#closeReader(s);
      }
    });
    this.#notify();
  }
}

function closeQuietly(file: LogFile): void {
  try {
    file.close();
  } catch {
    // already closed (an open that failed left it so)
  }
}

function newSegment(dir: string, baseOffset: number): Segment {
  return {
    baseOffset,
    path: join(dir, `${String(baseOffset).padStart(20, "0")}.log`),
    positions: [],
    size: 0,
    maxTimestamp: -1,
    lock: Promise.resolve(),
    deleted: false,
  };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

async function writeAll(file: LogFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}
