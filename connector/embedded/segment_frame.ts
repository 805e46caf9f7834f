/**
 * The on-disk frame of one record in a segment file.
 *
 * ```
 * frame   := length:u32  crc:u32  body            (big-endian; length = 4 + body size; crc = CRC-32 of body)
 * body    := magic:u8(=1)  offset:u64  timestamp:i64  key:bytes  value:bytes  count:u32  (name:str value:str)*
 * bytes   := len:i32 (-1 = null) data[len]
 * str     := len:u32 utf8[len]
 * ```
 *
 * A frame whose length runs past the end of the file, or whose CRC does not match, is a torn write.
 *
 * @module
 */

import type { RecordHeaders } from "../types.ts";
import { crc32 } from "./crc32.ts";

/** Frame magic byte (format version). */
export const FRAME_MAGIC = 1;
/** Bytes before the body: length and CRC. */
export const FRAME_HEADER_SIZE = 8;

/** A record as stored in a segment. */
export interface StoredRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeaders;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TWO32 = 2 ** 32;

/**
 * Encodes one record as a complete frame (length, CRC, body).
 *
 * @param record The record; `offset` and `timestamp` must be non-negative safe integers.
 * @returns The frame bytes.
 */
export function encodeFrame(record: StoredRecord): Uint8Array {
  const headerEntries: Array<[Uint8Array, Uint8Array]> = [];
  let headersSize = 4;
  for (const [name, value] of Object.entries(record.headers)) {
    const n = encoder.encode(name);
    const v = encoder.encode(value);
    headerEntries.push([n, v]);
    headersSize += 8 + n.length + v.length;
  }
  const keyLen = record.key?.length ?? 0;
  const valueLen = record.value?.length ?? 0;
  const bodySize = 1 + 8 + 8 + 4 + keyLen + 4 + valueLen + headersSize;
  const frame = new Uint8Array(FRAME_HEADER_SIZE + bodySize);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 4 + bodySize);
  let p = FRAME_HEADER_SIZE;
  frame[p++] = FRAME_MAGIC;
  writeU64(view, p, record.offset);
  p += 8;
  writeU64(view, p, Math.max(0, Math.trunc(record.timestamp)));
  p += 8;
  p = writeBytes(frame, view, p, record.key);
  p = writeBytes(frame, view, p, record.value);
  view.setUint32(p, headerEntries.length);
  p += 4;
  for (const [n, v] of headerEntries) {
    view.setUint32(p, n.length);
    frame.set(n, p + 4);
    p += 4 + n.length;
    view.setUint32(p, v.length);
    frame.set(v, p + 4);
    p += 4 + v.length;
  }
  view.setUint32(4, crc32(frame, FRAME_HEADER_SIZE));
  return frame;
}

/** Result of scanning a buffer of frames. */
export interface FrameScan {
  /** Byte position of each complete, valid frame, in order. */
  positions: number[];
  /** Offset stored in each frame. */
  offsets: number[];
  /** Largest timestamp seen (or -1 if none). */
  maxTimestamp: number;
  /** Bytes covered by valid frames; anything after is torn or corrupt. */
  validLength: number;
}

/**
 * Walks the frames of a segment, verifying lengths and checksums, and stops at the first torn or corrupt one.
 *
 * @param data The segment bytes.
 * @returns Positions, offsets and the length of the valid prefix.
 */
export function scanFrames(data: Uint8Array): FrameScan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const positions: number[] = [];
  const offsets: number[] = [];
  let maxTimestamp = -1;
  let p = 0;
  while (p + FRAME_HEADER_SIZE <= data.length) {
    const length = view.getUint32(p);
    const end = p + 4 + length;
    if (length < 4 + 25 || end > data.length) break;
    if (view.getUint32(p + 4) !== crc32(data, p + FRAME_HEADER_SIZE, end)) break;
    if (data[p + FRAME_HEADER_SIZE] !== FRAME_MAGIC) break;
    positions.push(p);
    offsets.push(readU64(view, p + FRAME_HEADER_SIZE + 1));
    maxTimestamp = Math.max(maxTimestamp, readU64(view, p + FRAME_HEADER_SIZE + 9));
    p = end;
  }
  return { positions, offsets, maxTimestamp, validLength: p };
}

/**
 * Decodes consecutive frames already known to be valid (the read path; no CRC check).
 *
 * @param data Bytes holding whole frames.
 * @returns The records, in order.
 * @throws {RangeError} If the bytes do not hold whole frames.
 */
export function decodeFrames(data: Uint8Array): StoredRecord[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const records: StoredRecord[] = [];
  let p = 0;
  while (p < data.length) {
    const end = p + 4 + view.getUint32(p);
    if (end > data.length) throw new RangeError(`Cannot decode frame at ${p}: it ends past ${data.length}`);
    let q = p + FRAME_HEADER_SIZE + 1;
    const offset = readU64(view, q);
    const timestamp = readU64(view, q + 8);
    q += 16;
    const [key, q1] = readBytes(data, view, q);
    const [value, q2] = readBytes(data, view, q1);
    q = q2;
    const count = view.getUint32(q);
    q += 4;
    const headers: RecordHeaders = {};
    for (let i = 0; i < count; i++) {
      const nl = view.getUint32(q);
      const name = decoder.decode(data.subarray(q + 4, q + 4 + nl));
      q += 4 + nl;
      const vl = view.getUint32(q);
      headers[name] = decoder.decode(data.subarray(q + 4, q + 4 + vl));
      q += 4 + vl;
    }
    records.push({ offset, timestamp, key, value, headers });
    p = end;
  }
  return records;
}

function writeU64(view: DataView, p: number, n: number): void {
  view.setUint32(p, Math.floor(n / TWO32));
  view.setUint32(p + 4, n >>> 0);
}

function readU64(view: DataView, p: number): number {
  return view.getUint32(p) * TWO32 + view.getUint32(p + 4);
}

function writeBytes(frame: Uint8Array, view: DataView, p: number, bytes: Uint8Array | null): number {
  if (bytes === null) {
    view.setInt32(p, -1);
    return p + 4;
  }
  view.setInt32(p, bytes.length);
  frame.set(bytes, p + 4);
  return p + 4 + bytes.length;
}

function readBytes(data: Uint8Array, view: DataView, p: number): [Uint8Array | null, number] {
  const len = view.getInt32(p);
  if (len < 0) return [null, p + 4];
  return [data.slice(p + 4, p + 4 + len), p + 4 + len];
}
