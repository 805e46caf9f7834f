import assert from "node:assert/strict";
import { EmbeddedConnector } from "./embedded_connector.ts";
import { acquireDataDirLock } from "./data_dir_lock.ts";
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

Deno.test("the lock is taken once per process; release lets the next owner in", async () => {
  const dir = await tempDir();
  const lock = await acquireDataDirLock(dir);
  await assert.rejects(acquireDataDirLock(dir), DataDirLockedError);
  await lock.release();
  const again = await acquireDataDirLock(dir);
  await again.release();
  await Deno.remove(dir, { recursive: true });
});
