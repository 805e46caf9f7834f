import assert from "node:assert/strict";
import { connectTestClient } from "./_test_client.ts";
import { type SupervisionControl, supervisionTools } from "./supervision_tools.ts";

/** A tiny tree whose restart really changes its state, standing in for the root supervisor. */
function smallTree(): SupervisionControl & { restarts: Record<string, number> } {
  const restarts: Record<string, number> = { "pg-sink-0": 0 };
  return {
    restarts,
    tree: () => ({
      id: "root",
      kind: "supervisor",
      children: Object.entries(restarts).map(([id, n]) => ({
        id,
        kind: "actor",
        state: "running",
        restarts: n,
      })),
    }),
    restart(actor) {
      if (!(actor in restarts)) {
        return Promise.reject(new RangeError(`Cannot restart "${actor}": no such actor`));
      }
      restarts[actor]!++;
      return Promise.resolve();
    },
  };
}

Deno.test("supervision.tree returns the live tree; supervision.restart restarts by id and reports unknown ids", async () => {
  const supervision = smallTree();
  const admin = await connectTestClient(supervisionTools({ supervision }), ["*"], "http:ops");
  const reader = await connectTestClient(
    supervisionTools({ supervision }),
    ["supervision.tree"],
    "http:grafana",
  );
  try {
    const before = await reader.call("supervision.tree");
    assert.equal((before.tree as { children: { restarts: number }[] }).children[0]!.restarts, 0);
    const denied = await reader.raw("supervision.restart", { actor: "pg-sink-0" });
    assert.equal(denied.isError, true);
    assert.equal(supervision.restarts["pg-sink-0"], 0);
    assert.deepEqual(await admin.call("supervision.restart", { actor: "pg-sink-0" }), {
      restarted: "pg-sink-0",
    });
    const after = await admin.call("supervision.tree");
    assert.equal((after.tree as { children: { restarts: number }[] }).children[0]!.restarts, 1);
    const unknown = await admin.raw("supervision.restart", { actor: "nope" });
    assert.equal(unknown.isError, true);
    assert.match((unknown.content[0] as { text: string }).text, /RangeError: Cannot restart "nope"/);
  } finally {
    await admin.close();
    await reader.close();
  }
});
