import assert from "node:assert/strict";
import { join } from "node:path";
import { fileMemberIdStore } from "./kafka_member_ids.ts";

Deno.test("fileMemberIdStore remembers a member id per group across instances, and forgets one that left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "kafka-members.json");
    const store = fileMemberIdStore(path);
    assert.equal(store.get("pg"), undefined, "no file: nothing remembered");
    store.set("pg", "member-1");
    store.set("ch", "member-2");
    const reopened = fileMemberIdStore(path);
    assert.equal(reopened.get("pg"), "member-1");
    assert.equal(reopened.get("ch"), "member-2");
    reopened.set("pg", undefined);
    assert.equal(store.get("pg"), undefined);
    assert.equal(store.get("ch"), "member-2");
    await Deno.writeTextFile(path, "not json");
    assert.equal(store.get("ch"), undefined, "an unreadable file is an empty store");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["kafka-members.json"],
      "no temporary left",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
