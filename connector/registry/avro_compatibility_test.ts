import assert from "node:assert/strict";
import { checkAvroCompatibility, parseAvroSchema } from "./avro_compatibility.ts";

const v1 = {
  type: "record",
  name: "Tick",
  namespace: "qistream.market",
  fields: [
    { name: "symbol", type: "string" },
    { name: "price", type: "double" },
  ],
};
const withOptional = {
  ...v1,
  fields: [...v1.fields, { name: "bid", type: ["null", "double"], default: null }],
};
const withRequired = { ...v1, fields: [...v1.fields, { name: "venue", type: "string" }] };
const withoutPrice = { ...v1, fields: [v1.fields[0]] };

Deno.test("BACKWARD accepts a new optional field with a default", () => {
  const r = checkAvroCompatibility("BACKWARD", withOptional, [{ version: 1, schema: v1 }]);
  assert.deepEqual(r, { compatible: true, messages: [] });
});

Deno.test("BACKWARD refuses a new required field and names the version and the field", () => {
  const r = checkAvroCompatibility("BACKWARD", withRequired, [{ version: 1, schema: v1 }]);
  assert.equal(r.compatible, false);
  assert.equal(r.messages.length, 1);
  assert.match(r.messages[0]!, /BACKWARD: the new schema cannot read data written with version 1/);
  assert.match(r.messages[0]!, /venue/);
});

Deno.test("BACKWARD allows removing a field, FORWARD refuses it (old readers need the field)", () => {
  assert.equal(
    checkAvroCompatibility("BACKWARD", withoutPrice, [{ version: 1, schema: v1 }]).compatible,
    true,
  );
  const fwd = checkAvroCompatibility("FORWARD", withoutPrice, [{ version: 1, schema: v1 }]);
  assert.equal(fwd.compatible, false);
  assert.match(fwd.messages[0]!, /version 1 cannot read data written with the new schema.*price/);
});

Deno.test("FULL needs both directions; NONE accepts anything", () => {
  assert.equal(checkAvroCompatibility("FULL", withOptional, [{ version: 1, schema: v1 }]).compatible, true);
  assert.equal(checkAvroCompatibility("FULL", withoutPrice, [{ version: 1, schema: v1 }]).compatible, false);
  assert.equal(checkAvroCompatibility("NONE", '"string"', [{ version: 1, schema: v1 }]).compatible, true);
});

Deno.test("a type change that cannot be promoted is incompatible; int -> long is a promotion", () => {
  const asString = { ...v1, fields: [v1.fields[0], { name: "price", type: "string" }] };
  assert.equal(checkAvroCompatibility("BACKWARD", asString, [{ version: 1, schema: v1 }]).compatible, false);
  const intV = { type: "record", name: "R", fields: [{ name: "n", type: "int" }] };
  const longV = { type: "record", name: "R", fields: [{ name: "n", type: "long" }] };
  assert.equal(checkAvroCompatibility("BACKWARD", longV, [{ version: 1, schema: intV }]).compatible, true);
  assert.equal(checkAvroCompatibility("BACKWARD", intV, [{ version: 1, schema: longV }]).compatible, false);
});

Deno.test("transitive levels check every version, plain levels only the newest", () => {
  // v1 has `venue` required; v2 drops it; v3 re-adds it required: v3 reads v2 data? no (missing, no default).
  const a = withRequired;
  const b = v1;
  const c = { ...v1, fields: [...v1.fields, { name: "venue", type: "string", default: "?" }] };
  const history = [{ version: 1, schema: a }, { version: 2, schema: b }];
  assert.equal(checkAvroCompatibility("BACKWARD", c, history).compatible, true);
  // A schema readable from v2 but not from v1: venue as int with a default reads v2, not v1 (string).
  const d = { ...v1, fields: [...v1.fields, { name: "venue", type: "int", default: 0 }] };
  assert.equal(checkAvroCompatibility("BACKWARD", d, history).compatible, true);
  const t = checkAvroCompatibility("BACKWARD_TRANSITIVE", d, history);
  assert.equal(t.compatible, false);
  assert.match(t.messages.join("\n"), /version 1/);
});

Deno.test("parseAvroSchema says what is wrong with a bad schema", () => {
  assert.throws(() => parseAvroSchema("{not json"), /Cannot parse Avro schema: not JSON/);
  assert.throws(() => parseAvroSchema({ type: "record", name: "R", fields: [{ name: "x", type: "nope" }] }), {
    name: "TypeError",
    message: /Cannot parse Avro schema: .*nope/,
  });
});
