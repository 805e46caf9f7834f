/**
 * One partition of the embedded log: a directory of append-only segment files (`<base offset>.log`, 20 digits),
 * each a run of frames (see `segment_frame.ts`). The index (frame positions) is rebuilt in memory on open; a torn
 * last frame is truncated away. Records become visible to readers only once written and flushed, so nothing a
 * consumer sees can be lost by a crash.
 *
 * @module
 */

import { join } from "node:path";
import { decodeFrames, encodeFrame, scanFrames, type StoredRecord } from "./segment_frame.ts";
import { LogCorruptionError } from "./embedded_errors.ts";
import { syncDir } from "./_sync_dir.ts";

/** How a partition log writes. */
export interface PartitionLogOptions {
  /** Roll to a new segment once the active one reaches this size (bytes). */
  segmentBytes: number;
  /** `true` (default): fsync before an append resolves; `false`: only write to the OS. */
  fsync: boolean;
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
  reader?: Deno.FsFile;
  lock: Promise<void>;
  deleted: boolean;
}

interface PendingAppend {
  frames: Uint8Array[];
  timestamps: number[];
  resolve(): void;
  reject(error: Error): void;
}

/** Raised internally when a read asks for an offset below the log start (deleted by retention). */
export class OffsetOutOfRangeError extends RangeError {
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
  #writer: Deno.FsFile;
  #nextOffset: number;
  #pending: PendingAppend[] = [];
  #flushing: Promise<void> | null = null;
  #chain: Promise<void> = Promise.resolve();
  #waiters = new Set<() => void>();
  #failed: Error | null = null;
  #closed = false;

  private constructor(dir: string, options: PartitionLogOptions, segments: Segment[], writer: Deno.FsFile) {
    this.#dir = dir;
    this.#options = options;
    this.#segments = segments;
    this.#writer = writer;
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
    const writer = await Deno.open(segments.at(-1)!.path, { create: true, write: true, append: true });
    if (fresh && options.fsync) await syncDir(dir);
    return { log: new PartitionLog(dir, options, segments, writer), report };
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
   * Assigns offsets to records now (so concurrent appends keep call order) and writes them in the background.
   * Appends arriving while a flush runs are written together by the next flush (group commit).
   *
   * @param records The records without offsets.
   * @returns The assigned offsets and a promise that resolves once they are durable.
   */
  append(records: Omit<StoredRecord, "offset">[]): { offsets: number[]; durable: Promise<void> } {
    if (this.#closed) throw new Error(`Cannot append to ${this.#dir}: the log is closed`);
    if (this.#failed) throw this.#failed;
    const offsets: number[] = [];
    const frames: Uint8Array[] = [];
    const timestamps: number[] = [];
    for (const record of records) {
      const offset = this.#nextOffset++;
      offsets.push(offset);
      frames.push(encodeFrame({ ...record, offset }));
      timestamps.push(record.timestamp);
    }
    const durable = new Promise<void>((resolve, reject) => {
      this.#pending.push({ frames, timestamps, resolve, reject });
    });
    this.#kick();
    return { offsets, durable };
  }

  #kick(): void {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = this.#serial(() => this.#flush()).finally(() => {
      this.#flushing = null;
      this.#kick();
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      if (this.#failed) throw this.#failed;
      const frames = batch.flatMap((b) => b.frames);
      const timestamps = batch.flatMap((b) => b.timestamps);
      let i = 0;
      while (i < frames.length) {
        let active = this.#segments.at(-1)!;
        if (active.size > 0 && active.size + frames[i]!.length > this.#options.segmentBytes) {
          active = await this.#roll();
        }
        let j = i;
        let bytes = 0;
        while (
          j < frames.length &&
          ((j === i && active.size === 0) ||
            active.size + bytes + frames[j]!.length <= this.#options.segmentBytes)
        ) {
          bytes += frames[j]!.length;
          j++;
        }
        const chunk = concat(frames.slice(i, j), bytes);
        await writeAll(this.#writer, chunk);
        if (this.#options.fsync) await this.#writer.syncData();
        let position = active.size;
        for (let k = i; k < j; k++) {
          active.positions.push(position);
          position += frames[k]!.length;
          active.maxTimestamp = Math.max(active.maxTimestamp, timestamps[k]!);
        }
        active.size = position;
        i = j;
      }
      for (const b of batch) b.resolve();
    } catch (cause) {
      this.#failed ??= new Error(`Writing to ${this.#dir} failed; reopen the log to recover`, { cause });
      for (const b of batch) b.reject(this.#failed);
    } finally {
      this.#notify();
    }
  }

  async #roll(): Promise<Segment> {
    this.#writer.close();
    const segment = newSegment(this.#dir, this.high);
    this.#segments.push(segment);
    this.#writer = await Deno.open(segment.path, { create: true, write: true, append: true });
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
        segment.reader ??= await Deno.open(segment.path, { read: true });
        await segment.reader.seek(start, Deno.SeekMode.Start);
        const buffer = new Uint8Array(end - start);
        let got = 0;
        while (got < buffer.length) {
          const n = await segment.reader.read(buffer.subarray(got));
          if (n === null) throw new Error(`Unexpected end of ${segment.path} at ${start + got}`);
          got += n;
        }
        records = decodeFrames(buffer);
      });
      segment.lock = run.then(() => {}, () => {});
      await run;
      if (records) return records;
    }
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
      segment.reader?.close();
      segment.reader = undefined;
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
    await this.flush();
    await this.#serial(async () => {
      this.#closed = true;
      this.#writer.close();
      for (const s of this.#segments) {
        await s.lock;
        s.reader?.close();
        s.reader = undefined;
      }
    });
    this.#notify();
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

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}
