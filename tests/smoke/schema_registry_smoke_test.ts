import assert from "node:assert/strict";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { needs, services, uniqueName } from "../service_env.ts";

Deno.test({
  name: "schema registry: an Avro schema is registered and fetched back by id (needs SCHEMA_REGISTRY_URL)",
  ...needs("SCHEMA_REGISTRY_URL"),
  fn: async () => {
    const registry = new SchemaRegistry({ host: services.schemaRegistryUrl! });
    const subject = `${uniqueName("smoke")}-value`;
    const schema = {
      type: "record",
      name: "Tick",
      namespace: "qistream.smoke",
      fields: [{ name: "symbol", type: "string" }, { name: "price", type: "double" }],
    };
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, {
      subject,
    });
    assert.ok(Number.isInteger(id) && id > 0, `expected a positive schema id, got ${id}`);
    assert.equal(await registry.getLatestSchemaId(subject), id);
    const fetched = await registry.getSchema(id) as { name?: string };
    assert.equal(fetched.name, "qistream.smoke.Tick");
    const encoded = await registry.encode(id, { symbol: "BTC-USD", price: 42000.5 });
    assert.equal(encoded[0], 0, "Confluent wire format starts with magic byte 0");
    assert.deepEqual({ ...(await registry.decode(encoded)) }, { symbol: "BTC-USD", price: 42000.5 });
  },
});
