import assert from "node:assert/strict";
import { EmbeddedConnector } from "./embedded_connector.ts";
import { tempDir, text } from "./_test_helpers.ts";

const connectorUrl = new URL("./embedded_connector.ts", import.meta.url).href;

/**
 * A child process publishes as fast as it can (8 calls in flight) and prints every acknowledgement; it is killed
 * with SIGKILL mid-stream. Every acknowledged record must be there after reopening, with its value, and the log
 * must accept new records at the next offsets.
 */
Deno.test("kill -9 while publishing: every acknowledged record survives and the log reopens cleanly", async () => {
  const dir = await tempDir();
  const setup = new EmbeddedConnector({ dataDir: dir });
  await setup.connect();
  await setup.admin.createTopics([{ name: "t", partitions: 3, replicationFactor: 1, config: {} }]);
  await setup.close();

  const code = `
    import { EmbeddedConnector } from ${JSON.stringify(connectorUrl)};
    const c = new EmbeddedConnector({ dataDir: ${JSON.stringify(dir)} });
    await c.connect();
    let n = 0;
    const worker = async () => {
      for (;;) {
        const names = Array.from({ length: 20 }, () => "value-" + n++);
        const batch = names.map((v, i) => ({ key: "k" + (i % 7), value: new TextEncoder().encode(v) }));
        const acks = await c.publish("t", batch);
        console.log(JSON.stringify(acks.map((a, j) => [a.partition, a.offset, names[j]])));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  `;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", "--quiet", code], stdout: "piped" })
    .spawn();
  const acked: Array<[number, string, string]> = [];
  let buffered = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (acked.length < 3000) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) acked.push(...JSON.parse(line));
  }
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel().catch(() => {});
  assert.ok(acked.length >= 3000, `the child acknowledged ${acked.length} records`);

  const c = new EmbeddedConnector({ dataDir: dir }); // the dead child's LOCK is stale and taken over
  await c.connect();
  const offsets = await c.offsets("t");
  const values = new Map<string, string>();
  await c.subscribe({
    group: "check",
    topics: ["t"],
    fromBeginning: true,
    onBatch(b) {
      for (const r of b.records) values.set(`${r.partition}@${r.offset}`, text(r.value)!);
    },
  });
  const total = offsets.reduce((n, o) => n + Number(o.high), 0);
  const deadline = Date.now() + 10_000;
  while (values.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(values.size, total);
  for (const [partition, offset, value] of acked) {
    assert.equal(values.get(`${partition}@${offset}`), value, `acknowledged ${partition}@${offset} survived`);
  }
  for (const o of offsets) {
    const [next] = await c.publish("t", [{ key: null, value: null, partition: o.partition }]);
    assert.equal(next!.offset, o.high, "new records continue at the high watermark");
  }
  await c.close();
  await Deno.remove(dir, { recursive: true });
});
