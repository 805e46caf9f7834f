/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial), used to detect torn or corrupt frames in segment files.
 *
 * @module
 */

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * Computes the CRC-32 of a byte range.
 *
 * @param data The bytes.
 * @param start First index (inclusive), default 0.
 * @param end Last index (exclusive), default `data.length`.
 * @returns The unsigned 32-bit checksum.
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
