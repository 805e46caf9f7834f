import assert from "node:assert/strict";
import { NotAvroError } from "./avro_errors.ts";
import { frameConfluent, parseConfluentFrame } from "./confluent_wire_format.ts";

Deno.test("wire format: frame and parse are inverse; the id is big-endian and the body a view", () => {
  const body = new Uint8Array([1, 2, 3]);
  const framed = frameConfluent(0x01020304, body);
  assert.deepEqual([...framed], [0, 1, 2, 3, 4, 1, 2, 3]);
  const { schemaId, body: back } = parseConfluentFrame(framed);
  assert.equal(schemaId, 0x01020304);
  assert.deepEqual([...back], [1, 2, 3]);
  // Works on a view into a larger buffer (as records sliced from a fetch are).
  const big = new Uint8Array([9, 9, ...framed]);
  assert.equal(parseConfluentFrame(big.subarray(2)).schemaId, 0x01020304);
  assert.equal(parseConfluentFrame(frameConfluent(0xffff_ffff, new Uint8Array())).schemaId, 0xffff_ffff);
});

Deno.test("wire format: bad ids are RangeErrors, bad frames NotAvroErrors", () => {
  assert.throws(() => frameConfluent(-1, new Uint8Array()), RangeError);
  assert.throws(() => frameConfluent(2 ** 32, new Uint8Array()), RangeError);
  assert.throws(() => frameConfluent(1.5, new Uint8Array()), /not an unsigned 32-bit integer/);
  assert.throws(() => parseConfluentFrame(new Uint8Array()), NotAvroError);
  assert.throws(() => parseConfluentFrame(new Uint8Array([1, 0, 0, 0, 1])), /first byte is 0x01/);
});
