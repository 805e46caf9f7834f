/**
 * Against the real registry from the test services (Apicurio's ccompat API); skipped when
 * SCHEMA_REGISTRY_URL is unset.
 */
import assert from "node:assert/strict";
import { HttpSchemaRegistry } from "./http_schema_registry.ts";
import { IncompatibleSchemaError, SchemaNotFoundError, SchemaRegistryError } from "./registry_errors.ts";

const url = Deno.env.get("SCHEMA_REGISTRY_URL");
const ignore = !url;
const skipNote = ignore ? " (skipped: SCHEMA_REGISTRY_URL is not set)" : "";

const v1 = {
  type: "record",
  name: "Probe",
  namespace: "qistream.test",
  fields: [{ name: "symbol", type: "string" }, { name: "price", type: "double" }],
};
const v2Compatible = {
  ...v1,
  fields: [...v1.fields, { name: "bid", type: ["null", "double"], default: null }],
};
const v2Incompatible = { ...v1, fields: [...v1.fields, { name: "venue", type: "string" }] };

function uniqueSubject(tag: string): string {
  return `qistream-test-${tag}-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}-value`;
}

/** The registry's base URL without Apicurio's ccompat suffix. */
function bareUrl(u: string): string {
  return u.replace(/\/apis\/ccompat\/v\d+\/?$/, "");
}

Deno.test({
  name: `http registry: finds the Confluent API from the bare URL and from the ccompat URL${skipNote}`,
  ignore,
  async fn() {
    const fromBare = new HttpSchemaRegistry({ url: bareUrl(url!) });
    const fromGiven = new HttpSchemaRegistry({ url: url! });
    const a = await fromBare.baseUrl();
    const b = await fromGiven.baseUrl();
    assert.equal(a, b.replace(/\/+$/, ""));
    // Both talk to the same registry: an id registered through one is readable through the other.
    const subject = uniqueSubject("probe");
    const id = await fromBare.register(subject, v1);
    assert.equal(JSON.parse(await fromGiven.getById(id)).name, "Probe");
  },
});

Deno.test({
  name:
    `http registry: a compatible change registers, an incompatible one is refused with the reason${skipNote}`,
  ignore,
  async fn() {
    const reg = new HttpSchemaRegistry({ url: url!, latestTtlMs: 0 });
    const subject = uniqueSubject("compat");
    assert.equal(await reg.latest(subject), null);
    assert.deepEqual(await reg.checkCompatibility(subject, v1), { compatible: true, messages: [] });
    const id1 = await reg.register(subject, v1);
    assert.equal(await reg.register(subject, v1), id1, "registering the same schema again returns its id");
    await reg.setCompatibility(subject, "BACKWARD");
    assert.equal(await reg.getCompatibility(subject), "BACKWARD");

    const ok = await reg.checkCompatibility(subject, v2Compatible);
    assert.equal(ok.compatible, true, ok.messages.join("; "));
    const id2 = await reg.register(subject, v2Compatible);
    assert.notEqual(id2, id1);
    const latest = await reg.latest(subject);
    assert.equal(latest?.id, id2);
    assert.equal(latest?.version, 2);
    assert.deepEqual(JSON.parse(latest!.schema), v2Compatible);

    const no = await reg.checkCompatibility(subject, v2Incompatible);
    assert.equal(no.compatible, false);
    assert.match(no.messages.join("\n"), /venue/, "the reason names the new required field");
    await assert.rejects(() => reg.register(subject, v2Incompatible), (err: unknown) => {
      assert.ok(err instanceof IncompatibleSchemaError, String(err));
      assert.equal(err.subject, subject);
      assert.equal(err.status, 409);
      assert.equal(err.retriable, false);
      assert.match(err.message, /venue/);
      return true;
    });
    assert.equal((await reg.latest(subject))?.version, 2, "the refused schema was not stored");

    await reg.setCompatibility(subject, "NONE");
    assert.equal(await reg.getCompatibility(subject), "NONE");
    assert.equal((await reg.checkCompatibility(subject, v2Incompatible)).compatible, true);
  },
});

Deno.test({
  name: `http registry: an unknown id is a SchemaNotFoundError; a dead registry is retriable${skipNote}`,
  ignore,
  async fn() {
    const reg = new HttpSchemaRegistry({ url: url! });
    await assert.rejects(() => reg.getById(2_000_000_000), (err: unknown) => {
      assert.ok(err instanceof SchemaNotFoundError);
      assert.equal(err.schemaId, 2_000_000_000);
      assert.equal(err.retriable, false);
      return true;
    });
    const dead = new HttpSchemaRegistry({ url: "http://127.0.0.1:9", timeoutMs: 2000 });
    await assert.rejects(() => dead.getById(1), (err: unknown) => {
      assert.ok(err instanceof SchemaRegistryError);
      assert.equal(err.retriable, true);
      return true;
    });
  },
});
