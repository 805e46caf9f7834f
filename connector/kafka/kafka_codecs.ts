/**
 * The record-batch codecs of the Kafka connector: gzip, snappy, lz4 and zstd, registered in kafkajs'
 * `CompressionCodecs` so that every compression a topic can hold is readable, whoever wrote it, and the producer
 * can use any of them. All run under Deno without native addons (see docs/dependencies.md):
 *
 * | codec  | library                    | reads                                                          | writes                                |
 * | ------ | -------------------------- | -------------------------------------------------------------- | ------------------------------------- |
 * | gzip   | `node:zlib` (as kafkajs)   | gzip / zlib                                                    | gzip                                  |
 * | snappy | `snappyjs` (pure JS)       | raw snappy (librdkafka, kafkajs) and xerial framing (Java)     | raw snappy, as librdkafka does        |
 * | lz4    | `lz4js` (pure JS) + here   | LZ4 frames: linked or independent blocks, checksums, sizes     | LZ4 frames, independent 64 KiB blocks |
 * | zstd   | `node:zlib` (Deno's own)   | zstd frames, with or without content size, one or more frames  | one zstd frame                        |
 *
 * Kafka's Java client requires independent LZ4 blocks (its `KafkaLZ4BlockInputStream` refuses linked ones), and
 * lz4js' compressor breaks a rule of the block format near a block's end, so LZ4 frames and blocks are written
 * here; lz4js decodes the blocks and provides xxHash32. Codec ids 5–7 do not exist in
 * Kafka; kafkajs would decode such a batch as if it were uncompressed, so they are registered to fail with
 * {@link UnsupportedCompressionError}. A batch a codec cannot decode fails with {@link DecompressionError}
 * naming the codec. Both are permanent (`retriable: false`): fetching the same batch again cannot succeed.
 *
 * Importing this module registers the codecs (once per process).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import lz4js from "lz4js";
import lz4xxh32 from "lz4js/xxh32.js";
import * as snappyjs from "snappyjs";
import { DecompressionError, UnsupportedCompressionError } from "../errors.ts";

/** A kafkajs codec: `compress` gets kafkajs' encoder (its bytes in `.buffer`), `decompress` a batch's payload. */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** The compressions Kafka defines (the `compression.type` values other than `producer`/`uncompressed`). */
export type CodecName = "gzip" | "snappy" | "lz4" | "zstd";

interface Lz4js {
  decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
}
interface Xxh32 {
  hash(seed: number, src: Uint8Array, index: number, length: number): number;
}
interface SnappyJs {
  compress(data: Uint8Array): Uint8Array;
  uncompress(data: Uint8Array, maxLength?: number): Uint8Array;
}
const lz4 = lz4js as Lz4js;
const xxh32 = lz4xxh32 as Xxh32;
const snappy = snappyjs as unknown as SnappyJs;

const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);

/** The magic and header of xerial snappy-java's stream format, which Kafka's Java producer writes. */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER_BYTES = 16;

function buffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isXerial(bytes: Uint8Array): boolean {
  return bytes.length >= XERIAL_HEADER_BYTES && XERIAL_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Decodes snappy as Kafka clients write it: xerial framing (a 16-byte header, then blocks of a 4-byte big-endian
 * length and raw snappy) from Java, raw snappy from librdkafka and kafkajs.
 *
 * @throws {Error} if the bytes are not valid snappy
 */
export function snappyDecode(bytes: Uint8Array): Uint8Array {
  if (!isXerial(bytes)) return snappy.uncompress(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: Uint8Array[] = [];
  let total = 0;
  for (let offset = XERIAL_HEADER_BYTES; offset < bytes.length;) {
    if (offset + 4 > bytes.length) throw new Error(`truncated xerial snappy block header at byte ${offset}`);
    const length = view.getUint32(offset);
    offset += 4;
    if (offset + length > bytes.length) {
      throw new Error(`truncated xerial snappy block at byte ${offset}: ${length} bytes announced`);
    }
    const block = snappy.uncompress(bytes.subarray(offset, offset + length));
    blocks.push(block);
    total += block.length;
    offset += length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const block of blocks) {
    out.set(block, at);
    at += block.length;
  }
  return out;
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_BYTES = 64 * 1024;
/** FLG: version 01, block independence set, no checksums, no content size. */
const LZ4_FLG = 0x60;
/** BD: maximum block size 64 KiB. */
const LZ4_BD = 0x40;

/** LZ4 block format limits: the last match starts 12 bytes or more before the end; the last 5 bytes are literals. */
const LZ4_MFLIMIT = 12;
const LZ4_LAST_LITERALS = 5;
const LZ4_MIN_MATCH = 4;

function lz4Length(out: Uint8Array, at: number, n: number): number {
  for (; n >= 255; n -= 255) out[at++] = 255;
  out[at++] = n;
  return at;
}

/**
 * Compresses one LZ4 block (greedy, 4-byte hash, 64 KiB window) into `out` at `at`; returns the end offset.
 * lz4js' own block compressor is not used: it can start a match closer than 12 bytes to the block's end, which
 * the LZ4 format forbids and liblz4 and lz4-java (Kafka's Java client) reject.
 */
function lz4Block(src: Uint8Array, out: Uint8Array, at: number, table: Int32Array): number {
  const end = src.length;
  const matchLimit = end - LZ4_LAST_LITERALS;
  let anchor = 0;
  if (end >= LZ4_MFLIMIT + 1) {
    table.fill(-1);
    for (let i = 0; i <= end - LZ4_MFLIMIT;) {
      const word = src[i]! | src[i + 1]! << 8 | src[i + 2]! << 16 | src[i + 3]! << 24;
      const hash = Math.imul(word, 2654435761) >>> 16;
      const candidate = table[hash]!;
      table[hash] = i;
      if (
        candidate < 0 || i - candidate > 65535 || src[candidate] !== src[i] ||
        src[candidate + 1] !== src[i + 1] || src[candidate + 2] !== src[i + 2] ||
        src[candidate + 3] !== src[i + 3]
      ) {
        i++;
        continue;
      }
      let length = LZ4_MIN_MATCH;
      while (i + length < matchLimit && src[candidate + length] === src[i + length]) length++;
      const literals = i - anchor;
      const token = at++;
      out[token] = (Math.min(literals, 15) << 4) | Math.min(length - LZ4_MIN_MATCH, 15);
      if (literals >= 15) at = lz4Length(out, at, literals - 15);
      out.set(src.subarray(anchor, i), at);
      at += literals;
      const offset = i - candidate;
      out[at++] = offset & 0xff;
      out[at++] = offset >> 8;
      if (length - LZ4_MIN_MATCH >= 15) at = lz4Length(out, at, length - LZ4_MIN_MATCH - 15);
      i += length;
      anchor = i;
    }
  }
  const literals = end - anchor;
  out[at++] = Math.min(literals, 15) << 4;
  if (literals >= 15) at = lz4Length(out, at, literals - 15);
  out.set(src.subarray(anchor), at);
  return at + literals;
}

/**
 * Encodes one LZ4 frame with independent 64 KiB blocks and no checksums, as Kafka's Java client writes them
 * (and every Kafka client reads); a block that does not shrink is stored uncompressed.
 */
export function lz4Encode(bytes: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(bytes.length / LZ4_BLOCK_BYTES));
  const out = new Uint8Array(7 + blocks * (4 + LZ4_BLOCK_BYTES) + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, LZ4_MAGIC, true);
  out[4] = LZ4_FLG;
  out[5] = LZ4_BD;
  out[6] = (xxh32.hash(0, out, 4, 2) >>> 8) & 0xff;
  let at = 7;
  // Worst case of a 64 KiB block: every byte a literal, plus the length bytes and the token.
  const scratch = new Uint8Array(LZ4_BLOCK_BYTES + LZ4_BLOCK_BYTES / 255 + 16);
  const table = new Int32Array(1 << 16);
  for (let start = 0; start < bytes.length; start += LZ4_BLOCK_BYTES) {
    const block = bytes.subarray(start, Math.min(bytes.length, start + LZ4_BLOCK_BYTES));
    const size = lz4Block(block, scratch, 0, table);
    if (size < block.length) {
      view.setUint32(at, size, true);
      out.set(scratch.subarray(0, size), at + 4);
      at += 4 + size;
    } else {
      view.setUint32(at, (0x80000000 | block.length) >>> 0, true);
      out.set(block, at + 4);
      at += 4 + block.length;
    }
  }
  view.setUint32(at, 0, true);
  return out.subarray(0, at + 4);
}

const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** Where a skippable frame (the same in LZ4 and zstd: magic 0x184D2A5?, 4-byte size) at `at` ends, if it is one. */
function skippableFrameEnd(view: DataView, at: number): number | undefined {
  if (at + 8 > view.byteLength || (view.getUint32(at, true) & SKIPPABLE_MASK) !== SKIPPABLE_MAGIC) {
    return undefined;
  }
  return at + 8 + view.getUint32(at + 4, true);
}
/** Maximum block sizes by the BD byte's bits 4–6. */
const LZ4_MAX_BLOCK: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

/** One LZ4 frame as read from its headers: where its blocks are and which checksums it carries. */
interface Lz4Frame {
  maxBlock: number;
  blockChecksums: boolean;
  /** Each block's data: offset, length, and whether it is stored uncompressed. */
  blocks: { at: number; size: number; stored: boolean }[];
  /** Offset of the content checksum, when the frame has one. */
  contentChecksumAt?: number;
}

/** Reads the frame and block headers of LZ4 data (skippable frames dropped), checking every length. */
function lz4Frames(bytes: Uint8Array, view: DataView): Lz4Frame[] {
  const frames: Lz4Frame[] = [];
  for (let at = 0; at < bytes.length;) {
    const skipped = skippableFrameEnd(view, at);
    if (skipped !== undefined) {
      at = skipped;
      continue;
    }
    if (at + 7 > bytes.length || view.getUint32(at, true) !== LZ4_MAGIC) {
      throw new Error(`no LZ4 frame at byte ${at}`);
    }
    const flg = bytes[at + 4]!;
    if ((flg & 0xc0) !== 0x40) throw new Error(`LZ4 frame version ${flg >> 6} at byte ${at}, expected 1`);
    const maxBlock = LZ4_MAX_BLOCK[(bytes[at + 5]! >> 4) & 0x7];
    if (maxBlock === undefined) {
      throw new Error(`LZ4 block size code ${(bytes[at + 5]! >> 4) & 0x7} at byte ${at}`);
    }
    // The header checksum is not checked: Kafka before 0.10 (message format v0/v1) wrote it wrongly.
    const frame: Lz4Frame = { maxBlock, blockChecksums: (flg & 0x10) !== 0, blocks: [] };
    for (at += 6 + (flg & 0x08 ? 8 : 0) + 1;;) {
      if (at + 4 > bytes.length) throw new Error(`truncated LZ4 frame at byte ${at}`);
      const word = view.getUint32(at, true);
      at += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (at + size + (frame.blockChecksums ? 4 : 0) > bytes.length) {
        throw new Error(`truncated LZ4 block at byte ${at}`);
      }
      frame.blocks.push({ at, size, stored: (word & 0x80000000) !== 0 });
      at += size + (frame.blockChecksums ? 4 : 0);
    }
    if (flg & 0x04) {
      if (at + 4 > bytes.length) throw new Error(`truncated LZ4 content checksum at byte ${at}`);
      frame.contentChecksumAt = at;
      at += 4;
    }
    frames.push(frame);
  }
  return frames;
}

/**
 * Decodes LZ4 frames as Kafka clients write them: independent or linked blocks, optional block and content
 * checksums (verified when present), optional content size, several frames one after another, skippable frames.
 * `lz4js` decodes the blocks; the frame is read here (lz4js misreads frames that carry a content size).
 *
 * @throws {Error} if the bytes are not LZ4 frames or a checksum does not match
 */
export function lz4Decode(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames = lz4Frames(bytes, view);
  // The largest possible output, from the block headers (never from a claimed content size).
  let bound = 0;
  for (const f of frames) for (const b of f.blocks) bound += b.stored ? b.size : f.maxBlock;
  const out = new Uint8Array(bound);
  let written = 0;
  for (const frame of frames) {
    const start = written;
    for (const { at, size, stored } of frame.blocks) {
      if (frame.blockChecksums && xxh32.hash(0, bytes, at, size) !== view.getUint32(at + size, true)) {
        throw new Error(`LZ4 block checksum mismatch at byte ${at}`);
      }
      const before = written;
      if (stored) {
        out.set(bytes.subarray(at, at + size), written);
        written += size;
      } else {
        written = lz4.decompressBlock(bytes, out, at, size, written);
      }
      if (written - before > frame.maxBlock || written > out.length) {
        throw new Error(`LZ4 block at byte ${at} decodes to more than its ${frame.maxBlock} bytes`);
      }
    }
    const sumAt = frame.contentChecksumAt;
    if (sumAt !== undefined && xxh32.hash(0, out, start, written - start) !== view.getUint32(sumAt, true)) {
      throw new Error(`LZ4 content checksum mismatch in the frame ending at byte ${sumAt}`);
    }
  }
  return out.subarray(0, written);
}

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * Splits zstd data into its frames (skippable frames dropped), reading only the frame and block headers.
 * Deno's `node:zlib` decodes the first frame of its input and ignores the rest, so each frame is decoded alone.
 *
 * @throws {Error} if the bytes are not zstd frames
 */
export function zstdFrames(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const skipped = skippableFrameEnd(view, at);
    if (skipped !== undefined) {
      at = skipped;
      continue;
    }
    if (at + 5 > bytes.length || view.getUint32(at, true) !== ZSTD_MAGIC) {
      throw new Error(`no zstd frame at byte ${at}`);
    }
    const start = at;
    const fhd = bytes[at + 4]!;
    const singleSegment = (fhd & 0x20) !== 0;
    const sizeFlag = fhd >> 6;
    at += 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 0x03]! +
      [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag]!;
    for (let last = false; !last;) {
      if (at + 3 > bytes.length) throw new Error(`truncated zstd frame at byte ${at}`);
      const header = bytes[at]! | bytes[at + 1]! << 8 | bytes[at + 2]! << 16;
      last = (header & 1) === 1;
      const type = (header >> 1) & 0x3;
      if (type === 3) throw new Error(`reserved zstd block type at byte ${at}`);
      at += 3 + (type === 1 ? 1 : header >>> 3);
    }
    at += fhd & 0x04 ? 4 : 0;
    if (at > bytes.length) throw new Error(`truncated zstd frame at byte ${start}`);
    frames.push(bytes.subarray(start, at));
  }
  return frames;
}

async function zstdDecode(bytes: Uint8Array): Promise<Uint8Array> {
  const frames = zstdFrames(bytes);
  if (frames.length === 1) return await zstdDecompress(frames[0]!);
  return Buffer.concat(await Promise.all(frames.map((f) => zstdDecompress(f))));
}

function codec(
  name: CodecName,
  encode: (bytes: Uint8Array) => Promise<Uint8Array> | Uint8Array,
  decode: (bytes: Uint8Array) => Promise<Uint8Array> | Uint8Array,
): KafkaCodec {
  return {
    async compress(encoder) {
      return buffer(await encode(encoder.buffer));
    },
    async decompress(bytes) {
      try {
        return buffer(await decode(bytes));
      } catch (cause) {
        throw new DecompressionError(name, bytes.length, { cause });
      }
    },
  };
}

const gzip = promisify(zlib.gzip);
const unzip = promisify(zlib.unzip);
/** The codecs by name, as registered in kafkajs. */
export const kafkaCodecs: Readonly<Record<CodecName, KafkaCodec>> = {
  gzip: codec("gzip", (b) => gzip(b), (b) => unzip(b)),
  snappy: codec("snappy", (b) => snappy.compress(b), snappyDecode),
  lz4: codec("lz4", lz4Encode, lz4Decode),
  zstd: codec("zstd", (b) => zstdCompress(b), zstdDecode),
};

function unsupported(id: number): () => KafkaCodec {
  return () => {
    throw new UnsupportedCompressionError(id);
  };
}

/** Registers the codecs in kafkajs' `CompressionCodecs` (idempotent; done when this module is imported). */
export function registerKafkaCodecs(): void {
  const registry = CompressionCodecs as unknown as Record<number, () => KafkaCodec>;
  registry[CompressionTypes.GZIP] = () => kafkaCodecs.gzip;
  registry[CompressionTypes.Snappy] = () => kafkaCodecs.snappy;
  registry[CompressionTypes.LZ4] = () => kafkaCodecs.lz4;
  registry[CompressionTypes.ZSTD] = () => kafkaCodecs.zstd;
  for (const id of [5, 6, 7]) registry[id] = unsupported(id);
}

registerKafkaCodecs();
