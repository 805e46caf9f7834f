import assert from "node:assert/strict";
import { join } from "node:path";
import { checkCatalogHistory, loadSchemaCatalog } from "./schema_catalog.ts";

Deno.test("the project's schemas: every subject loads, is namespaced, and its versions are compatible in order", async () => {
  const catalog = await loadSchemaCatalog();
  assert.equal(catalog.defaultCompatibility, "BACKWARD");
  const topics = catalog.subjects.map((s) => s.topic);
  for (const t of ["market.ticks", "market.trades", "market.bars", "market.alerts", "market.insights"]) {
    assert.ok(topics.includes(t), `${t} is mapped in subjects.yaml`);
  }
  for (const s of catalog.subjects) {
    assert.equal(s.subject, `${s.topic}-value`);
    for (const v of s.versions) {
      const schema = JSON.parse(v.schema);
      // Market data is qistream.market; the LLM audit records are qistream.llm.
      assert.equal(schema.namespace, s.topic.startsWith("llm.") ? "qistream.llm" : "qistream.market", v.path);
      const fields = new Map<string, unknown>(
        schema.fields.map((f: { name: string; type: unknown }) => [f.name, f.type]),
      );
      assert.deepEqual(fields.get("ts"), { type: "long", logicalType: "timestamp-millis" }, `${v.path}: ts`);
      assert.ok(fields.has("source"), `${v.path}: source`);
      // Optional fields are nullable unions with a null default.
      for (const f of schema.fields as { name: string; type: unknown; default?: unknown }[]) {
        if (Array.isArray(f.type) && f.type[0] === "null") {
          assert.equal(f.default, null, `${v.path}: ${f.name}`);
        }
      }
    }
    for (const h of checkCatalogHistory(s)) {
      assert.ok(h.compatible, `${s.subject} v${h.version}: ${h.messages}`);
    }
  }
});

Deno.test("schema catalog: bad files are reported with the file and the problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qistream-catalog-" });
  try {
    const write = (path: string, text: string) => Deno.writeTextFile(join(dir, path), text);
    await Deno.mkdir(join(dir, "x"));
    await write("subjects.yaml", "topics:\n  t:\n    schema: x\n    compatibility: SIDEWAYS\n");
    await write("x/v1.avsc", '{"type":"record","name":"X","fields":[]}');
    await assert.rejects(
      () => loadSchemaCatalog(dir),
      /topics\.t\.compatibility: .*expected one of NONE, BACKWARD/,
    );
    await write("subjects.yaml", "topics:\n  t:\n    schema: missing\n");
    await assert.rejects(() => loadSchemaCatalog(dir), /missing does not exist/);
    await write("subjects.yaml", "topics:\n  t:\n    schema: x\n");
    await write("x/v2.avsc", '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}');
    await assert.rejects(() => loadSchemaCatalog(dir), /v2\.avsc: Cannot parse Avro schema/);
    await Deno.remove(join(dir, "x/v2.avsc"));
    await write("x/v3.avsc", '{"type":"record","name":"X","fields":[]}');
    await assert.rejects(() => loadSchemaCatalog(dir), /without gaps; found v3/);
    await Deno.remove(join(dir, "x/v3.avsc"));
    const ok = await loadSchemaCatalog(dir);
    assert.deepEqual(ok.subjects.map((s) => [s.subject, s.compatibility, s.versions.length]), [[
      "t-value",
      "BACKWARD",
      1,
    ]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
