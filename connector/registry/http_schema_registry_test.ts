/**
 * Against the real registry from the test services (Apicurio's ccompat API); skipped when
 * SCHEMA_REGISTRY_URL is unset.
 */
import assert from "node:assert/strict";
import { HttpSchemaRegistry } from "./http_schema_registry.ts";
import avsc from "avsc";
import { IncompatibleSchemaError, SchemaNotFoundError, SchemaRegistryError } from "./registry_errors.ts";
import { AvroSerde } from "../avro/avro_serde.ts";
import { frameConfluent } from "../avro/confluent_wire_format.ts";
import { startHttpFaultProxy } from "../../tests/http_fault_proxy.ts";
import { waitFor } from "../../tests/wait_for.ts";

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

Deno.test({
  name:
    `http registry: 500 lookups on a cold, then an expired cache make one request per schema at a time, ` +
    `counted at a proxy in front of the registry${skipNote}`,
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const direct = new HttpSchemaRegistry({ url: url! });
    const subject = uniqueSubject("burst");
    const other = uniqueSubject("burst-by-id");
    await direct.register(subject, v1);
    const otherId = await direct.register(other, v2Compatible);
    const proxy = startHttpFaultProxy(url!);
    try {
      const ttlMs = 100;
      const reg = new HttpSchemaRegistry({ url: proxy.url, latestTtlMs: ttlMs });
      const serde = new AvroSerde({ registry: reg });
      const value = { symbol: "BTC-USD", price: 1 };
      const latestPath = /^GET .*\/versions\/latest$/;
      const idPath = new RegExp(`^GET .*/schemas/ids/${otherId}$`);

      // Cold cache: 500 encodes for one subject, 500 decodes of one unseen id.
      const encoded = await Promise.all(Array.from({ length: 500 }, () => serde.encode(subject, value)));
      const frame = frameConfluent(otherId, avsc.Type.forSchema(v2Compatible as avsc.Schema).toBuffer(value));
      await Promise.all(Array.from({ length: 500 }, () => serde.decode(frame)));
      assert.equal(proxy.count(latestPath), 1, "one GET of the subject's latest version for 500 encodes");
      assert.equal(proxy.count(idPath), 1, "one GET of the id for 500 decodes");
      assert.equal(new Set(encoded.map((b) => b.join())).size, 1);

      // Expired: every caller gets the cached answer at once; one background request refreshes it.
      const cachedAt = Date.now();
      await new Promise((r) => setTimeout(r, ttlMs + 20)); // let the entry age past the TTL
      assert.ok(Date.now() - cachedAt > ttlMs);
      await Promise.all(Array.from({ length: 500 }, () => serde.encode(subject, value)));
      await until(() => proxy.count(latestPath) >= 2, 10_000, "the background refresh");
      assert.equal(proxy.count(latestPath), 2, "one refresh for 500 encodes on an expired entry");
      assert.equal(proxy.maxConcurrent.get([...proxy.counts.keys()].find((k) => latestPath.test(k))!), 1);

      // A refresh that fails keeps serving the cached answer.
      proxy.mode = "503";
      await new Promise((r) => setTimeout(r, ttlMs + 20));
      const during = await Promise.all(Array.from({ length: 50 }, () => serde.encode(subject, value)));
      assert.equal(during.length, 50, "encodes go on from the cache while the registry answers 503");
      // The refresh of the step before may still have been in flight (a slow machine) and renewed the entry:
      // keep encoding, from the cache, until an expired entry's refresh meets the 503.
      const deadline = Date.now() + 10_000;
      while (proxy.faults < 1) {
        if (Date.now() > deadline) throw new Error("Timed out waiting for the failed refresh");
        await serde.encode(subject, value);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await proxy.close();
    }
  },
});

const until = (check: () => boolean, timeoutMs: number, what: string) => waitFor(check, what, { timeoutMs });
