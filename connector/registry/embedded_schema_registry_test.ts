import assert from "node:assert/strict";
import { join } from "node:path";
import { EmbeddedSchemaRegistry } from "./embedded_schema_registry.ts";
import { IncompatibleSchemaError, InvalidSchemaError, SchemaNotFoundError } from "./registry_errors.ts";

const v1 = { type: "record", name: "T", fields: [{ name: "a", type: "string" }] };
const v2 = { ...v1, fields: [...v1.fields, { name: "b", type: ["null", "long"], default: null }] };
const bad = { ...v1, fields: [...v1.fields, { name: "c", type: "long" }] };

async function tmpRegistry() {
  const dir = await Deno.makeTempDir({ prefix: "qistream-registry-" });
  return { dir, path: join(dir, "sub", "schema-registry.json") };
}

Deno.test("embedded registry: ids, versions, idempotent register, persistence across instances", async () => {
  const { dir, path } = await tmpRegistry();
  try {
    const reg = new EmbeddedSchemaRegistry({ path });
    assert.equal(await reg.latest("t-value"), null);
    const id1 = await reg.register("t-value", v1);
    assert.equal(await reg.register("t-value", JSON.stringify(v1, null, 2)), id1, "same schema, same id");
    const id2 = await reg.register("t-value", v2);
    assert.notEqual(id2, id1);
    // The same schema under another subject reuses its global id, as Confluent does.
    assert.equal(await reg.register("u-value", v1), id1);
    const reopened = new EmbeddedSchemaRegistry({ path });
    assert.deepEqual(await reopened.latest("t-value"), {
      subject: "t-value",
      id: id2,
      version: 2,
      schema: JSON.stringify(v2),
    });
    assert.equal(JSON.parse(await reopened.getById(id1)).name, "T");
    assert.equal(await reopened.getCompatibility("t-value"), "BACKWARD");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("embedded registry enforces BACKWARD with the reason, and a NONE override lifts it", async () => {
  const { dir, path } = await tmpRegistry();
  try {
    const reg = new EmbeddedSchemaRegistry({ path });
    await reg.register("t-value", v1);
    const check = await reg.checkCompatibility("t-value", bad);
    assert.equal(check.compatible, false);
    assert.match(check.messages[0]!, /version 1.*\bc\b/);
    await assert.rejects(() => reg.register("t-value", bad), (err: unknown) => {
      assert.ok(err instanceof IncompatibleSchemaError);
      assert.equal(err.subject, "t-value");
      assert.equal(err.level, "BACKWARD");
      assert.equal(err.retriable, false);
      assert.match(err.message, /incompatible with subject "t-value" \(BACKWARD\)/);
      return true;
    });
    assert.equal((await reg.latest("t-value"))?.version, 1, "a refused schema is not stored");
    await reg.setCompatibility("t-value", "NONE");
    assert.equal(await reg.getCompatibility("t-value"), "NONE");
    assert.equal((await reg.checkCompatibility("t-value", bad)).compatible, true);
    await reg.register("t-value", bad);
    assert.equal((await reg.latest("t-value"))?.version, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("embedded registry: unknown id and invalid schema give typed errors", async () => {
  const { dir, path } = await tmpRegistry();
  try {
    const reg = new EmbeddedSchemaRegistry({ path });
    await assert.rejects(() => reg.getById(4242), (err: unknown) => {
      assert.ok(err instanceof SchemaNotFoundError);
      assert.equal(err.schemaId, 4242);
      return true;
    });
    await assert.rejects(
      () => reg.register("t-value", { type: "record", name: "X", fields: [{ name: "a" }] }),
      {
        name: "InvalidSchemaError",
      },
    );
    await assert.rejects(() => reg.register("t-value", "{oops"), InvalidSchemaError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("embedded registry: concurrent registrations get distinct ids and all persist", async () => {
  const { dir, path } = await tmpRegistry();
  try {
    const reg = new EmbeddedSchemaRegistry({ path });
    const schemas = Array.from({ length: 10 }, (_, i) => ({ type: "record", name: `R${i}`, fields: [] }));
    const ids = await Promise.all(schemas.map((s, i) => reg.register(`s${i}-value`, s)));
    assert.equal(new Set(ids).size, 10);
    const reopened = new EmbeddedSchemaRegistry({ path });
    for (const [i, id] of ids.entries()) assert.equal(JSON.parse(await reopened.getById(id)).name, `R${i}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
