import assert from "node:assert/strict";
import { join } from "node:path";
import { FileOffsetStore, SOURCE_OFFSETS_FILE } from "./mod.ts";

Deno.test("file offset store: positions survive a new store on the same data dir; reset forgets one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qistream-offsets-" });
  try {
    const store = new FileOffsetStore(join(dir, "data"));
    assert.equal(await store.load("replay-0"), undefined);
    await store.save("replay-0", { path: "a.jsonl", line: 10 });
    await store.save("replay-0", { path: "a.jsonl", line: 20 });
    await store.save("cc-0", { backfill: {} });
    const reopened = new FileOffsetStore(join(dir, "data"));
    assert.deepEqual(await reopened.load("replay-0"), { path: "a.jsonl", line: 20 });
    await reopened.reset("replay-0");
    assert.equal(await new FileOffsetStore(join(dir, "data")).load("replay-0"), undefined);
    assert.deepEqual(await new FileOffsetStore(join(dir, "data")).load("cc-0"), { backfill: {} });
    const names = [...Deno.readDirSync(join(dir, "data"))].map((e) => e.name);
    assert.deepEqual(names, [SOURCE_OFFSETS_FILE], "no temporary file is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
