import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAvroSchema } from "../registry/avro_compatibility.ts";
import { EmbeddedSchemaRegistry } from "../registry/embedded_schema_registry.ts";
import { loadSchemaCatalog } from "../registry/schema_catalog.ts";
import {
  AvroDecodeError,
  AvroEncodeError,
  AvroRecordTooLargeError,
  NoSchemaForSubjectError,
  NotAvroError,
  UnknownSchemaIdError,
} from "./avro_errors.ts";
import { AvroSerde } from "./avro_serde.ts";
import { frameConfluent } from "./confluent_wire_format.ts";

/** A realistic sample per schema directory; every version of the schema must accept it. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  "market.tick": {
    symbol: "BTC-USD",
    source: "synthetic",
    exchange: "Coinbase",
    ts: 1_763_956_800_123,
    price: 97_123.45,
    bid: 97_123.4,
    ask: 97_123.5,
    volume: null,
  },
  "market.trade": {
    symbol: "ETH-USD",
    source: "cryptocompare",
    exchange: null,
    ts: 1_763_956_800_456,
    tradeId: "t-991",
    price: 3_012.5,
    size: 0.25,
    side: "SELL",
  },
  "market.bar": {
    symbol: "AAPL",
    source: "twelvedata",
    exchange: "NASDAQ",
    interval: "1m",
    ts: 1_763_956_800_000,
    open: 230.1,
    high: 230.9,
    low: 229.8,
    close: 230.5,
    volume: 120_345,
    trades: 812,
  },
  "market.alert": {
    id: "a-1",
    ts: 1_763_956_800_789,
    symbol: "SOL-USD",
    source: "monitor",
    rule: "price_move",
    severity: "WARNING",
    message: "SOL-USD moved 5.2% in 60 s",
    value: 5.2,
    threshold: 5,
    attributes: { window: "60s" },
  },
  "market.insight": {
    id: "i-1",
    ts: 1_763_956_801_000,
    symbols: ["SOL-USD"],
    source: "analyst",
    alertId: "a-1",
    title: "SOL spike",
    summary: "A large buy on one venue moved the price.",
    confidence: 0.7,
    model: "gpt-4o-mini",
  },
  "llm.audit": {
    id: "x-1",
    ts: 1_763_956_802_000,
    source: "analyst",
    actor: "analyst-0",
    runId: "alert-a-1",
    correlationId: null,
    kind: "exchange",
    model: "gpt-4o-mini",
    outcome: "refused",
    error: null,
    latencyMs: 120,
    promptTokens: 100,
    completionTokens: 20,
    prompt: '[{"role":"user","content":"why?"}]',
    response: "",
    toolCalls: [{
      id: "call_1",
      tool: "stream.publish",
      arguments: "{}",
      outcome: "refused",
      reason: "not among this agent's read-only tools",
      resultHash: null,
      durationMs: 0,
    }],
  },
};

async function withSerde(
  fn: (serde: AvroSerde, registry: EmbeddedSchemaRegistry) => Promise<void>,
  maxRecordBytes?: number,
) {
  const dir = await Deno.makeTempDir({ prefix: "qistream-serde-" });
  try {
    const registry = new EmbeddedSchemaRegistry({ path: join(dir, "schema-registry.json") });
    await fn(new AvroSerde({ registry, maxRecordBytes }), registry);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Plain JSON view of a decoded value (avsc decodes records into class instances). */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

Deno.test("serde: the wire format is magic 0, the schema id big-endian, then the Avro body", async () => {
  await withSerde(async (serde, registry) => {
    const schema = { type: "record", name: "R", fields: [{ name: "s", type: "string" }] };
    // Push the id past one byte so the byte order shows.
    for (let i = 0; i < 300; i++) {
      await registry.register(`filler${i}-value`, { type: "fixed", name: `F${i}`, size: 1 });
    }
    const id = await registry.register("t-value", schema);
    assert.ok(id > 255);
    const bytes = await serde.encode("t", { s: "hi" });
    assert.equal(bytes[0], 0);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(1, false), id);
    // Avro string "hi": zig-zag length 2 -> 0x04, then the UTF-8 bytes.
    assert.deepEqual([...bytes.subarray(5)], [0x04, 0x68, 0x69]);
    const decoded = await serde.decode(bytes);
    assert.equal(decoded.schemaId, id);
    assert.deepEqual(plain(decoded.value), { s: "hi" });
  });
});

Deno.test("serde: every version of every market schema round-trips (sample and random values)", async () => {
  const catalog = await loadSchemaCatalog();
  assert.deepEqual(
    catalog.subjects.map((s) => s.name).sort(),
    Object.keys(SAMPLES).sort(),
    "every schema in schemas/ has a sample here",
  );
  await withSerde(async (serde, registry) => {
    for (const s of catalog.subjects) {
      for (const v of s.versions) {
        const id = await registry.register(`${s.name}-v${v.version}-value`, v.schema);
        const type = parseAvroSchema(v.schema);
        const sample = SAMPLES[s.name]!;
        const expected = plain(type.fromBuffer(type.toBuffer(sample))) as Record<string, unknown>;
        for (const [k, val] of Object.entries(sample)) assert.deepEqual(expected[k], val, `${v.path}: ${k}`);
        const bytes = await serde.encodeWithId(id, sample);
        assert.deepEqual(plain((await serde.decode(bytes)).value), expected, v.path);
        for (let i = 0; i < 20; i++) {
          const random = type.random();
          const back = await serde.decode(await serde.encodeWithId(id, random));
          assert.deepEqual(type.toBuffer(back.value), type.toBuffer(random), `${v.path}: random value #${i}`);
        }
      }
    }
  });
});

Deno.test("serde: a v1 tick decodes into the v2 reader schema with the new fields null", async () => {
  const catalog = await loadSchemaCatalog();
  const tick = catalog.subjects.find((s) => s.name === "market.tick")!;
  assert.ok(tick.versions.length >= 2);
  await withSerde(async (serde, registry) => {
    await registry.register("market.ticks-value", tick.versions[0]!.schema);
    const bytes = await serde.encode("market.ticks", SAMPLES["market.tick"]);
    const v2 = parseAvroSchema(tick.versions[1]!.schema);
    const { value } = await serde.decode<Record<string, unknown>>(bytes, v2);
    assert.equal(value.price, 97_123.45);
    assert.equal(value.bidSize, null);
    assert.equal(value.receivedAt, null);
    // An unrelated reader schema cannot resolve the writer: a typed decode error, not a crash.
    const other = parseAvroSchema({ type: "record", name: "Other", fields: [{ name: "x", type: "int" }] });
    await assert.rejects(() => serde.decode(bytes, other), AvroDecodeError);
  });
});

Deno.test("serde: not Avro, unknown schema id, bad body and too large give typed errors naming the problem", async () => {
  await withSerde(async (serde, registry) => {
    const schema = {
      type: "record",
      name: "R",
      fields: [{ name: "n", type: "long" }, { name: "s", type: "string" }],
    };
    const id = await registry.register("t-value", schema);

    await assert.rejects(() => serde.decode(new TextEncoder().encode('{"n":1}')), (err: unknown) => {
      assert.ok(err instanceof NotAvroError);
      assert.match(err.message, /first byte is 0x7b, expected magic byte 0x00/);
      assert.equal(err.firstByte, 0x7b);
      assert.equal(err.retriable, false);
      return true;
    });
    await assert.rejects(
      () => serde.decode(new Uint8Array([0, 0, 1])),
      /3 bytes is shorter than the 5-byte header/,
    );
    await assert.rejects(() => serde.decode(null), /tombstone/);

    await assert.rejects(() => serde.decode(frameConfluent(987_654, new Uint8Array([2]))), (err: unknown) => {
      assert.ok(err instanceof UnknownSchemaIdError);
      assert.equal(err.schemaId, 987_654);
      assert.match(err.message, /Unknown schema id 987654/);
      return true;
    });

    const good = await serde.encode("t", { n: 5, s: "abc" });
    await assert.rejects(() => serde.decode(good.subarray(0, good.length - 1)), (err: unknown) => {
      assert.ok(err instanceof AvroDecodeError);
      assert.equal(err.schemaId, id);
      assert.match(err.message, /truncated/);
      return true;
    });
    const trailing = new Uint8Array([...good, 9, 9]);
    await assert.rejects(() => serde.decode(trailing), /2 trailing byte\(s\)/);

    await assert.rejects(() => serde.encode("t", { n: "five", s: 3 }), (err: unknown) => {
      assert.ok(err instanceof AvroEncodeError);
      assert.deepEqual(err.paths.sort(), ["n", "s"]);
      return true;
    });
    await assert.rejects(() => serde.encode("nothing-here", { n: 1 }), NoSchemaForSubjectError);
  });

  await withSerde(async (serde, registry) => {
    await registry.register("big-value", {
      type: "record",
      name: "B",
      fields: [{ name: "s", type: "string" }],
    });
    const ok = await serde.encode("big", { s: "x".repeat(50) });
    assert.ok(ok.length <= 64);
    await assert.rejects(() => serde.encode("big", { s: "x".repeat(100) }), (err: unknown) => {
      assert.ok(err instanceof AvroRecordTooLargeError);
      assert.equal(err.limit, 64);
      assert.equal(err.size, 5 + 2 + 100);
      return true;
    });
    await assert.rejects(() => serde.decode(new Uint8Array(65)), /65 bytes exceeds the limit of 64 bytes/);
  }, 64);
});

Deno.test("serde: writer schemas are fetched once per id", async () => {
  await withSerde(async (serde, registry) => {
    const id = await registry.register("t-value", {
      type: "record",
      name: "R",
      fields: [{ name: "a", type: "int" }],
    });
    let calls = 0;
    const getById = registry.getById.bind(registry);
    registry.getById = (n: number) => {
      calls++;
      return getById(n);
    };
    const bytes = await serde.encodeWithId(id, { a: 1 });
    await Promise.all(Array.from({ length: 50 }, () => serde.decode(bytes)));
    assert.equal(calls, 1);
  });
});
