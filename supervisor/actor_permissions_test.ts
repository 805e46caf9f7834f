import assert from "node:assert/strict";
import { mergePermissions, workerPermissions } from "./actor_permissions.ts";

Deno.test("every permission kind is stated; undeclared or empty lists are denied; import is always denied", () => {
  assert.deepEqual(workerPermissions({ net: ["api.example.com:443"], env: [], read: ["/data"] }), {
    net: ["api.example.com:443"],
    read: ["/data"],
    write: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
  assert.deepEqual(Object.values(workerPermissions()), [
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
  ]);
});

Deno.test("granted permissions are merged with the spec's, without duplicates", () => {
  const merged = mergePermissions({ net: ["a.example:443"], read: [] }, {
    net: ["a.example:443", "127.0.0.1:9"],
  });
  assert.deepEqual(merged, { net: ["a.example:443", "127.0.0.1:9"] });
  assert.equal(workerPermissions(merged).read, false);
});
