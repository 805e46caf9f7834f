import assert from "node:assert/strict";
import { EmbeddedConnector } from "./embedded_connector.ts";
import { DataDirLockedError } from "./embedded_errors.ts";
import { tempDir } from "./_test_helpers.ts";

const connectorUrl = new URL("./embedded_connector.ts", import.meta.url).href;

/** Starts a second Deno process that opens the embedded log in `dir` and holds it until killed. */
async function holder(dir: string): Promise<Deno.ChildProcess> {
  const code = `
    import { EmbeddedConnector } from ${JSON.stringify(connectorUrl)};
    const c = new EmbeddedConnector({ dataDir: ${JSON.stringify(dir)} });
    await c.connect();
    console.log("ready");
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  assert.match(new TextDecoder().decode(value), /ready/);
  return child;
}

Deno.test("a second process is refused with a clear error while the first holds the data dir", async () => {
  const dir = await tempDir();
  const child = await holder(dir);
  try {
    const c = new EmbeddedConnector({ dataDir: dir });
    const error = await c.connect().then(() => null, (e) => e);
    assert.ok(error instanceof DataDirLockedError, String(error));
    assert.equal(error.pid, child.pid);
    assert.equal(error.retriable, false);
    assert.match(error.message, /single-process only/);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
  }
  // The holder died without cleaning up (kill -9): its stale lock is taken over.
  const c = new EmbeddedConnector({ dataDir: dir });
  await c.connect();
  await c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("two connectors of one process on the same dir are refused; close releases the lock", async () => {
  const dir = await tempDir();
  const first = new EmbeddedConnector({ dataDir: dir });
  await first.connect();
  await assert.rejects(new EmbeddedConnector({ dataDir: dir }).connect(), DataDirLockedError);
  await first.close();
  const second = new EmbeddedConnector({ dataDir: dir });
  await second.connect();
  await second.close();
  await Deno.remove(dir, { recursive: true });
});
