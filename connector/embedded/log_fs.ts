/**
 * The file operations a partition log performs on its segments, behind one small interface, so that tests can
 * inject faults — a full disk (`ENOSPC`) half-way through a write, a failing `fsync`, a read error — without
 * exhausting a real disk. Production uses {@linkcode denoLogFs}, which is `Deno.open`.
 *
 * @module
 */

/** The part of `Deno.FsFile` a partition log uses. */
export interface LogFile {
  write(data: Uint8Array): Promise<number>;
  read(buffer: Uint8Array): Promise<number | null>;
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
  syncData(): Promise<void>;
  truncate(length?: number): Promise<void>;
  close(): void;
}

/** Opens segment files. */
export interface LogFs {
  open(path: string, options: Deno.OpenOptions): Promise<LogFile>;
}

/** The real file system. */
export const denoLogFs: LogFs = { open: (path, options) => Deno.open(path, options) };
