import assert from "node:assert/strict";
import { isAlive, spawnDetached, waitHealthy } from "./process.ts";
import { ServiceStartError } from "./service.ts";
import { needs } from "../service_env.ts";

Deno.test("launcher: a service that exits fails with its name, its command and its log tail", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const command = ["sh", "-c", "echo 'listener failed: port in use' >&2; exit 3"];
    const logFile = `${dir}/svc.log`;
    const pid = spawnDetached(command, logFile);
    const error = await waitHealthy(
      { name: "fake-db", command, pid, logFile },
      () => Promise.resolve(false),
      {
        timeoutMs: 10_000,
        signal: new AbortController().signal,
      },
    ).then(() => undefined, (e) => e);
    assert.ok(error instanceof ServiceStartError, `expected ServiceStartError, got ${error}`);
    assert.match(error.message, /^fake-db did not come up: the process exited/);
    assert.match(error.message, /command: sh -c echo 'listener failed/);
    assert.match(error.message, /listener failed: port in use/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launcher: a service that never gets healthy times out with the log tail", async () => {
  const dir = await Deno.makeTempDir();
  const command = ["sh", "-c", "echo starting slowly; exec sleep 30"];
  const logFile = `${dir}/svc.log`;
  const pid = spawnDetached(command, logFile);
  try {
    const error = await waitHealthy(
      { name: "slow-svc", command, pid, logFile },
      () => Promise.resolve(false),
      {
        timeoutMs: 1_000,
        signal: new AbortController().signal,
      },
    ).then(() => undefined, (e) => e);
    assert.ok(error instanceof ServiceStartError);
    assert.match(error.message, /slow-svc did not come up: not healthy after 1 s/);
    assert.match(error.message, /starting slowly/);
  } finally {
    Deno.kill(-pid, "SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "launcher: Ctrl-C during `deno task test` stops the tests and every service it started",
  // Kafka and the registry come from the environment so only PostgreSQL and ClickHouse start (a few seconds).
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "qistream-launcher-test-" });
    try {
      await Deno.writeTextFile(
        `${dir}/sleep_test.ts`,
        `Deno.test("sleeps", async () => { console.log("SLEEPING"); await new Promise((r) => setTimeout(r, 60_000)); });\n`,
      );
      const env: Record<string, string> = {
        ...Deno.env.toObject(),
        QISTREAM_SERVICES_STATE_DIR: dir,
        NO_COLOR: "1",
      };
      delete env.DATABASE_URL;
      delete env.CLICKHOUSE_URL;
      // A new session, like a terminal's foreground job: Ctrl-C signals the whole process group.
      const launcher = new Deno.Command("setsid", {
        args: [
          Deno.execPath(),
          "run",
          "-A",
          new URL("./cli.ts", import.meta.url).pathname,
          "test",
          "--",
          `${dir}/sleep_test.ts`,
        ],
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let output = "";
      const decoder = new TextDecoder();
      const collect = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream) output += decoder.decode(chunk);
      };
      const reading = Promise.all([collect(launcher.stdout), collect(launcher.stderr)]);
      const deadline = Date.now() + 90_000;
      while (!output.includes("SLEEPING") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(output.includes("SLEEPING"), `the test never started:\n${output}`);

      const state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
      const pids: number[] = state.services.flatMap((s: { pids: number[] }) => s.pids);
      assert.deepEqual(state.services.map((s: { name: string }) => s.name).sort(), [
        "clickhouse",
        "postgres",
      ]);
      assert.ok(pids.every(isAlive), "services run while the tests run");

      Deno.kill(-launcher.pid, "SIGINT");
      const status = await launcher.status;
      await reading;
      assert.equal(status.code, 130, output);
      for (const pid of pids) assert.ok(!isAlive(pid), `service process ${pid} survived Ctrl-C`);
      await assert.rejects(Deno.stat(`${dir}/state.json`), Deno.errors.NotFound);
      await assert.rejects(Deno.stat(state.runDir), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
