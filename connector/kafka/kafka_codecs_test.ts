import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionCodecs } from "kafkajs";
import * as snappyjs from "snappyjs";
import { DecompressionError, UnsupportedCompressionError } from "../errors.ts";
import { type CodecName, kafkaCodecs, lz4Decode, lz4Encode, snappyDecode } from "./kafka_codecs.ts";

/** Ticks-like text: compressible, and more than two 64 KiB LZ4 blocks at `lines` 5000. */
function sample(lines: number): Uint8Array {
  const text = Array.from(
    { length: lines },
    (_, i) => `{"symbol":"BTC-USD","price":${60000 + i % 97},"i":${i}}\n`,
  )
    .join("");
  return new TextEncoder().encode(text);
}

function random(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(bytes, i + 65536)));
  return out;
}

const CODECS: CodecName[] = ["gzip", "snappy", "lz4", "zstd"];

Deno.test("every codec round-trips empty, small, multi-block and incompressible payloads", async () => {
  for (const name of CODECS) {
    for (const data of [new Uint8Array(0), sample(3), sample(5000), random(200_000)]) {
      const packed = await kafkaCodecs[name].compress({ buffer: Buffer.from(data) });
      const unpacked = await kafkaCodecs[name].decompress(packed);
      assert.ok(unpacked.equals(data), `${name} of ${data.length} bytes`);
    }
  }
});

Deno.test("kafkajs CompressionCodecs resolve to these codecs, and ids Kafka does not define fail by name", () => {
  const registry = CompressionCodecs as unknown as Record<number, () => unknown>;
  assert.equal(registry[1]!(), kafkaCodecs.gzip);
  assert.equal(registry[2]!(), kafkaCodecs.snappy);
  assert.equal(registry[3]!(), kafkaCodecs.lz4);
  assert.equal(registry[4]!(), kafkaCodecs.zstd);
  for (const id of [5, 6, 7]) {
    assert.throws(() => registry[id]!(), (e: unknown) => {
      assert.ok(e instanceof UnsupportedCompressionError);
      assert.equal(e.codecId, id);
      assert.equal(e.retriable, false);
      assert.match(e.message, new RegExp(`codec id ${id} is not one Kafka defines`));
      return true;
    });
  }
});

Deno.test("lz4 frames have independent blocks (Kafka's Java client refuses linked ones) and a valid header checksum", () => {
  const frame = lz4Encode(sample(5000));
  assert.deepEqual([...frame.subarray(0, 4)], [0x04, 0x22, 0x4d, 0x18]);
  assert.equal(frame[4]! & 0xc0, 0x40, "version 01");
  assert.equal(frame[4]! & 0x20, 0x20, "block independence");
  assert.equal(frame[5], 0x40, "64 KiB blocks");
});

Deno.test("snappy reads xerial framing (Kafka's Java producer) and raw snappy (librdkafka, kafkajs)", () => {
  const a = sample(2000);
  const b = sample(700);
  const blocks = [snappyjs.compress(a) as Uint8Array, snappyjs.compress(b) as Uint8Array];
  const header = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];
  const framed = new Uint8Array(16 + blocks.reduce((n, x) => n + 4 + x.length, 0));
  framed.set(header);
  let at = 16;
  for (const block of blocks) {
    new DataView(framed.buffer).setUint32(at, block.length);
    framed.set(block, at + 4);
    at += 4 + block.length;
  }
  assert.deepEqual(snappyDecode(framed), new Uint8Array([...a, ...b]));
  assert.deepEqual(snappyDecode(blocks[0]!), a);
  assert.throws(() => snappyDecode(framed.subarray(0, framed.length - 3)), /truncated xerial snappy block/);
});

Deno.test("a corrupt batch fails with DecompressionError naming the codec", async () => {
  for (const name of CODECS) {
    await assert.rejects(
      kafkaCodecs[name].decompress(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9])),
      (e: unknown) => {
        assert.ok(e instanceof DecompressionError, `${name}: ${e}`);
        assert.equal(e.codec, name);
        assert.equal(e.retriable, false);
        assert.match(e.message, new RegExp(`Cannot decompress a ${name} record batch of 9 bytes`));
        return true;
      },
    );
  }
});

async function cli(command: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const output = child.output(); // read while writing, or a full pipe blocks both sides
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await output;
  if (!out.success) throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

function has(command: string): boolean {
  try {
    return new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "lz4 interoperates with liblz4, the library librdkafka uses (the lz4 CLI; skipped without it)",
  ignore: !has("lz4"),
  fn: async () => {
    const data = sample(9000);
    const mixed = new Uint8Array(200_000);
    for (let i = 0; i < mixed.length; i += 1000) {
      mixed.set(i % 3000 === 0 ? random(1000) : sample(20).subarray(0, 1000), i);
    }
    for (
      const input of [
        data,
        mixed,
        random(70_000),
        sample(3),
        data.subarray(0, 65536 + 13),
        data.subarray(0, 12),
      ]
    ) {
      const decoded = await cli("lz4", ["-d", "-c", "-q"], lz4Encode(input));
      assert.ok(
        Buffer.from(decoded).equals(Buffer.from(input)),
        `lz4 -d of our frame of ${input.length} bytes`,
      );
    }
    // 300 frames of random lengths and mixes, one after another: lz4 -d reads concatenated frames.
    const inputs = Array.from({ length: 300 }, (_, i) => {
      const length = Math.floor(Math.random() * 3000) + (i % 10 === 0 ? 65_000 : 0);
      const bytes = sample(Math.ceil(length / 40) + 1).subarray(0, length);
      if (i % 2 && length > 100) bytes.set(random(50), Math.floor(length / 2));
      return bytes;
    });
    const decodedAll = await cli("lz4", ["-d", "-c", "-q"], Buffer.concat(inputs.map(lz4Encode)));
    assert.ok(Buffer.from(decodedAll).equals(Buffer.concat(inputs)), "300 random frames");
    // liblz4 frames in the shapes other writers use: linked blocks, block and content checksums, content size.
    for (const flags of [["-BD", "-B5"], ["-BI", "-B4", "-BX", "--content-size"], ["-B7"]]) {
      const frame = await cli("lz4", ["-c", "-q", ...flags], data);
      assert.ok(Buffer.from(lz4Decode(frame)).equals(Buffer.from(data)), `lz4 ${flags.join(" ")}`);
    }
    // A flipped byte is caught by the block checksum (-BX) or the content checksum (the CLI's default).
    for (const flags of [["-BX", "--no-frame-crc"], []]) {
      const frame = await cli("lz4", ["-c", "-q", ...flags], data);
      frame[frame.length - 100] = frame[frame.length - 100]! ^ 0x40;
      assert.throws(() => lz4Decode(frame), /checksum mismatch/, `lz4 ${flags.join(" ")}`);
    }
    const twoFrames = new Uint8Array([...await cli("lz4", ["-c", "-q"], data), ...lz4Encode(data)]);
    assert.equal(Buffer.compare(Buffer.from(lz4Decode(twoFrames)), Buffer.concat([data, data])), 0);
  },
});

Deno.test({
  name:
    "zstd interoperates with libzstd, which librdkafka and Kafka's zstd-jni use (the zstd CLI; skipped without it)",
  ignore: !has("zstd"),
  fn: async () => {
    const data = sample(9000);
    // From a pipe the CLI writes a streaming frame without content size, as zstd-jni's output stream does.
    const streamed = await cli("zstd", ["-c", "-q"], data);
    assert.ok((await kafkaCodecs.zstd.decompress(Buffer.from(streamed))).equals(data), "streamed frame");
    const twoFrames = new Uint8Array([...streamed, ...(await cli("zstd", ["-c", "-q", "-19"], data))]);
    assert.ok(
      (await kafkaCodecs.zstd.decompress(Buffer.from(twoFrames))).equals(Buffer.concat([data, data])),
    );
    const ours = await kafkaCodecs.zstd.compress({ buffer: Buffer.from(data) });
    assert.ok(Buffer.from(await cli("zstd", ["-d", "-c", "-q"], ours)).equals(data), "zstd -d of ours");
  },
});
