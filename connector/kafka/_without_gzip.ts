/**
 * Test helper: makes this process's kafkajs unable to decompress gzip record batches, exactly as it is unable to
 * decompress a codec it has no implementation for (its built-in lookup throws `KafkaJSNotImplemented`). A
 * consumer that fetches such a batch crashes and kafkajs does not restart it — the failure the shipped default
 * once caused with LZ4 — while the broker and the records stay real.
 *
 * @module
 */
import kafkajs from "kafkajs";

// kafkajs' error classes are spread into its CommonJS exports, which ESM named imports do not see.
const { CompressionCodecs, CompressionTypes, KafkaJSNotImplemented } = kafkajs as unknown as {
  CompressionCodecs: Record<number, () => unknown>;
  CompressionTypes: { GZIP: number };
  KafkaJSNotImplemented: new (message: string) => Error;
};

/** The message kafkajs' fetch fails with meanwhile. */
export const GZIP_NOT_IMPLEMENTED = /KafkaJSNotImplemented: GZIP compression not implemented/;

/**
 * Runs `fn` with gzip decompression unavailable; `restore` (also called at the end) puts the codec back.
 *
 * @example
 * ```ts
 * await withoutGzip(async (restore) => { ...; restore(); ... });
 * ```
 */
export async function withoutGzip<T>(fn: (restore: () => void) => Promise<T>): Promise<T> {
  const original = CompressionCodecs[CompressionTypes.GZIP]!;
  CompressionCodecs[CompressionTypes.GZIP] = () => {
    throw new KafkaJSNotImplemented("GZIP compression not implemented");
  };
  const restore = () => void (CompressionCodecs[CompressionTypes.GZIP] = original);
  try {
    return await fn(restore);
  } finally {
    restore();
  }
}
