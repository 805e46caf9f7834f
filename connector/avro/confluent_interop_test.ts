/**
 * Interoperability with the stock Confluent-format library (@kafkajs/confluent-schema-registry) over the real
 * registry from the test services; skipped when SCHEMA_REGISTRY_URL is unset.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { SchemaRegistry as StockRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { KafkaConnector } from "../kafka/kafka_connector.ts";
import { HttpSchemaRegistry } from "../registry/http_schema_registry.ts";
import { loadSchemaCatalog } from "../registry/schema_catalog.ts";
import { UnknownSchemaIdError } from "./avro_errors.ts";
import { AvroSerde } from "./avro_serde.ts";

const url = Deno.env.get("SCHEMA_REGISTRY_URL");
const ignore = !url;
const skipNote = ignore ? " (skipped: SCHEMA_REGISTRY_URL is not set)" : "";

const tick = {
  symbol: "BTC-USD",
  source: "synthetic",
  exchange: "Coinbase",
  ts: 1_763_956_800_123,
  price: 97_123.45,
  bid: 97_123.4,
  ask: null,
  volume: 12.5,
};

async function tickSchema(): Promise<string> {
  const catalog = await loadSchemaCatalog();
  return catalog.subjects.find((s) => s.name === "market.tick")!.versions[0]!.schema;
}

function subject(): string {
  return `qistream-interop-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}-value`;
}

Deno.test({
  name: `interop: a record encoded by qistream decodes with the stock library alone${skipNote}`,
  ignore,
  async fn() {
    const registry = new HttpSchemaRegistry({ url: url! });
    const serde = new AvroSerde({ registry });
    const s = subject();
    await registry.register(s, await tickSchema());
    const bytes = await serde.encode(s, tick);

    const stock = new StockRegistry({ host: url! });
    const decoded = await stock.decode(Buffer.from(bytes));
    assert.deepEqual(JSON.parse(JSON.stringify(decoded)), tick);
  },
});

Deno.test({
  name: `interop: a record encoded by the stock library decodes with qistream's serde${skipNote}`,
  ignore,
  async fn() {
    const stock = new StockRegistry({ host: url! });
    const s = subject();
    const { id } = await stock.register({ type: SchemaType.AVRO, schema: await tickSchema() }, {
      subject: s,
    });
    const bytes = await stock.encode(id, tick);

    const serde = new AvroSerde({ registry: new HttpSchemaRegistry({ url: url! }) });
    const decoded = await serde.decode(new Uint8Array(bytes));
    assert.equal(decoded.schemaId, id);
    assert.deepEqual(JSON.parse(JSON.stringify(decoded.value)), tick);
  },
});

Deno.test({
  name: `interop: an id the real registry does not know is an UnknownSchemaIdError${skipNote}`,
  ignore,
  async fn() {
    const serde = new AvroSerde({ registry: new HttpSchemaRegistry({ url: url! }) });
    const bytes = new Uint8Array([0, 0x7f, 0xff, 0xff, 0x00, 2]);
    await assert.rejects(() => serde.decode(bytes), (err: unknown) => {
      assert.ok(err instanceof UnknownSchemaIdError);
      assert.equal(err.schemaId, 0x7fffff00);
      return true;
    });
  },
});

const brokers = Deno.env.get("KAFKA_BROKERS");
Deno.test({
  name: `interop through Kafka: qistream-encoded records decode with the stock library and back${
    ignore || !brokers ? " (skipped: SCHEMA_REGISTRY_URL or KAFKA_BROKERS is not set)" : ""
  }`,
  ignore: ignore || !brokers,
  async fn() {
    const registry = new HttpSchemaRegistry({ url: url! });
    const serde = new AvroSerde({ registry });
    const stock = new StockRegistry({ host: url! });
    const topic = `qistream-interop-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
    const schemaId = await registry.register(`${topic}-value`, await tickSchema());
    const connector = new KafkaConnector({ brokers: brokers!.split(","), linger: 0 });
    await connector.connect();
    try {
      await connector.admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1, config: {} }]);
      const ours = await serde.encode(topic, tick);
      const theirs = new Uint8Array(await stock.encode(schemaId, { ...tick, symbol: "ETH-USD" }));
      await connector.publish(topic, [{ key: "BTC-USD", value: ours }, { key: "ETH-USD", value: theirs }]);

      const got = new Map<string, Uint8Array>();
      const { promise, resolve } = Promise.withResolvers<void>();
      const sub = await connector.subscribe({
        group: `interop-${crypto.randomUUID()}`,
        topics: [topic],
        fromBeginning: true,
        onBatch(batch) {
          for (const r of batch.records) got.set(new TextDecoder().decode(r.key!), r.value!);
          if (got.size === 2) resolve();
        },
      });
      const timer = setTimeout(resolve, 30_000);
      await promise;
      clearTimeout(timer);
      await sub.close();

      // Ours, read by the stock library alone; theirs, read by qistream's serde.
      const byStock = await stock.decode(Buffer.from(got.get("BTC-USD")!));
      assert.deepEqual(JSON.parse(JSON.stringify(byStock)), tick);
      const byUs = await serde.decode(got.get("ETH-USD")!);
      assert.equal(byUs.schemaId, schemaId);
      assert.deepEqual(JSON.parse(JSON.stringify(byUs.value)), { ...tick, symbol: "ETH-USD" });
    } finally {
      await connector.admin.deleteTopics([topic]).catch(() => {});
      await connector.close();
    }
  },
});
