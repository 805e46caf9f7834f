import assert from "node:assert/strict";
import { join } from "node:path";
import { JsonFileStore } from "./json_file_store.ts";
import { tempDir } from "./_test_helpers.ts";

Deno.test("concurrent saves coalesce and the last state is what a reopen reads", async () => {
  const dir = await tempDir();
  const path = join(dir, "s.json");
  const store = await JsonFileStore.open(path, { n: 0, name: "" });
  const saves: Promise<void>[] = [];
  for (let i = 1; i <= 50; i++) {
    store.data.n = i;
    store.data.name = `größe ${i}`;
    saves.push(store.save());
  }
  await Promise.all(saves);
  const again = await JsonFileStore.open(path, { n: -1, name: "" });
  assert.deepEqual(again.data, { n: 50, name: "größe 50" });
  await assert.rejects(Deno.stat(`${path}.tmp`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a missing file starts from the initial document; a corrupt one is an error", async () => {
  const dir = await tempDir();
  const path = join(dir, "s.json");
  assert.deepEqual((await JsonFileStore.open(path, { a: 1 })).data, { a: 1 });
  await Deno.writeTextFile(path, "{ not json");
  await assert.rejects(JsonFileStore.open(path, {}), /Cannot read/);
  await Deno.remove(dir, { recursive: true });
});
