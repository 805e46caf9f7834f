import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The environment a newcomer's shell has: no service addresses (the test services' are not passed on). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "DENO_CERT", "NODE_EXTRA_CA_CERTS"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  return env;
}

/** Spawns `deno run main.ts <args>` with piped output. */
function spawn(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads `stream` until `marker` appears; returns everything read so far. */
async function readUntil(reader: ReadableStreamDefaultReader<string>, marker: string, timeoutMs: number) {
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!text.includes(marker)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${marker}"; got:\n${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before "${marker}"; got:\n${text}`);
    text += value;
  }
  return text;
}

/** A pipeline with the synthetic source only (no sinks), on the embedded log. */
const SOURCE_ONLY = `
topics:
  market.ticks: { partitions: 2 }
  market.dead-letter: { partitions: 1 }
agents:
  synthetic: { kind: synthetic, publish: [market.ticks], config: { ratePerSecond: 20 } }
`;

Deno.test("`main.ts start` prints where to look, serves them, and exits 0 on SIGTERM in time", async () => {
  const dataDir = await Deno.makeTempDir();
  const config = `${dataDir}/pipeline.yaml`;
  await Deno.writeTextFile(config, SOURCE_ONLY);
  const child = spawn(["start", "--config", config], {
    QISTREAM_HTTP_PORT: "0",
    QISTREAM_DATA_DIR: `${dataDir}/d`,
    // Nothing listens on port 1: the node starts, but /readyz says PostgreSQL is not reachable.
    DATABASE_URL: "postgres://app:sup3rsecret@127.0.0.1:1/q",
    // The query tools' logins are down too: the node still starts, and sets them up on first use.
    DATABASE_READ_URL: "postgres://ro:sup3rsecret@127.0.0.1:1/q",
    CLICKHOUSE_URL: "http://127.0.0.1:1",
    CLICKHOUSE_READ_URL: "http://ro:sup3rsecret@127.0.0.1:1",
  });
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderrText = new Response(child.stderr).text();
  try {
    const banner = await readUntil(stdout, "Press Ctrl-C", 30_000);
    const metricsUrl = banner.match(/metrics\s+(http:\/\/127\.0\.0\.1:\d+)\/metrics/)?.[1];
    assert.ok(metricsUrl, `no metrics URL in:\n${banner}`);
    assert.match(banner, new RegExp(`liveness\\s+${metricsUrl}/healthz`));
    assert.match(banner, new RegExp(`readiness\\s+${metricsUrl}/readyz`));
    assert.match(banner, new RegExp(`MCP\\s+${metricsUrl}/mcp`));
    assert.match(banner, new RegExp(`data dir\\s+${dataDir}/d`));
    assert.match(banner, new RegExp(`config\\s+${config}`));
    assert.match(banner, /stream\s+the embedded log in/);
    assert.match(banner, /agents\s+synthetic \(synthetic ×1\)/);
    assert.match(banner, /postgres\s+postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/q/);
    assert.match(banner, /pg query\s+set up on first use \(the database did not answer at start\)/);
    assert.match(banner, /ch query\s+checked on first use \(ClickHouse did not answer at start\)/);
    assert.ok((await Deno.stat(`${dataDir}/d`)).isDirectory, "data dir created");

    const health = await fetch(`${metricsUrl}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok" });
    const ready = await fetch(`${metricsUrl}/readyz`);
    assert.equal(ready.status, 503);
    const report = await ready.json();
    assert.deepEqual(report.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]), [
      ["stream", true],
      ["postgres", false],
      ["clickhouse", false],
    ]);
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    assert.match(metrics, /process_resident_memory_bytes/);

    const sent = performance.now();
    child.kill("SIGTERM");
    const status = await child.status;
    const tookMs = performance.now() - sent;
    assert.equal(status.code, 0);
    assert.ok(tookMs < 10_000, `shutdown took ${tookMs} ms (node.shutdownTimeoutMs is 10000)`);

    const logs = await stderrText;
    const records = logs.trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(records.some((r) => r.message.startsWith('stopping on "SIGTERM"')), logs);
    assert.ok(records.some((r) => r.logger === "qistream.start" && r.clean === true), logs);
    assert.ok(!logs.includes("sup3rsecret") && !banner.includes("sup3rsecret"), "secret leaked");
  } finally {
    stdout.releaseLock();
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("`main.ts start` with an invalid config prints the ConfigError and exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.yaml`, "topics:\n  market.ticks:\n    partitions: six\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "--config", `${dir}/bad.yaml`, "start"],
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    assert.equal(out.code, 2);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.match(stderr, new RegExp(`Invalid configuration in ${dir}/bad\\.yaml`));
    assert.match(stderr, /topics\.market\.ticks\.partitions: expected number, received string/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`main.ts start` with a bad config reports every problem in one run, exits 2 and creates nothing", async () => {
  const dir = await Deno.makeTempDir();
  const data = `${dir}/data`;
  // Issue 12's example: a wrong port, a negative partition count, an unknown kind and a bad agent config; then
  // the same file with only the agent problems, which used to create topics before failing.
  const agents = `agents:
  feed: { kind: bloomberg, publish: [market.ticks] }
  gen: { kind: synthetic, publish: [market.ticks], config: { ratePerSecond: -5 } }
  postgres-sink:
    kind: postgres-sink
    subscribe: { topics: [market.ticks] }
    config: { breaker: { failureThreshold: 0 } }
`;
  const files = {
    all: `node: { dataDir: ${data}, http: { port: 70000 } }
topics:
  market.ticks: { partitions: -1 }
  market.dead-letter: {}
${agents}`,
    agentsOnly: `node: { dataDir: ${data}, http: { port: 0 } }
topics:
  market.ticks: { partitions: 2 }
  market.dead-letter: {}
${agents}`,
  };
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}.yaml`, text);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", MAIN, "start", "--config", `${dir}/${name}.yaml`],
        env: { ...baseEnv() },
        clearEnv: true,
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 2, stderr);
      assert.equal(stderr.split("Invalid configuration in").length - 1, 1, `printed once:\n${stderr}`);
      const expected = [
        ...(name === "all"
          ? [
            "node.http.port: expected number to be <=65535",
            "topics.market.ticks.partitions: expected number to be >=1",
          ]
          : []),
        'agents.feed.kind: unknown kind "bloomberg" (known: analyst, bar-builder,',
        "agents.gen.config.ratePerSecond: expected number to be >=0, received -5",
        "agents.postgres-sink.config.breaker.failureThreshold: expected number to be >=1, received 0",
      ];
      for (const line of expected) assert.ok(stderr.includes(`  - ${line}`), `"${line}" in:\n${stderr}`);
      assert.equal(
        stderr.trim().split("\n").length,
        1 + expected.length,
        `nothing else reported:\n${stderr}`,
      );
      assert.equal(stdout, "", "no banner: nothing was started");
      await assert.rejects(Deno.stat(data), Deno.errors.NotFound, "the data dir was not created");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help, --help, unknown commands and unknown options", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, ...args],
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const help = await run(["help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: qistream \[--config PATH\] <command>/);
  assert.match(help.stdout, /^ {2}start {2}/m);
  assert.equal((await run(["--help"])).stdout, help.stdout);
  const startHelp = await run(["start", "--help"]);
  assert.equal(startHelp.code, 0);
  assert.match(startHelp.stdout, /Usage: qistream start/);
  assert.doesNotMatch(
    startHelp.stdout,
    /as it is built|later \/mcp/,
    "start --help describes what start does now",
  );
  assert.match(startHelp.stdout, /tools at \/mcp/);
  assert.match(startHelp.stdout, /QISTREAM_LOG_FORMAT=json\|pretty/);
  assert.doesNotMatch(help.stdout, /as it is built/);
  const unknown = await run(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  const badOption = await run(["start", "--port", "1"]);
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /Unknown option '--port'/);
  assert.equal((await run([])).code, 2);
});

Deno.test("`main.ts start` with an unknown QISTREAM_LOG_FORMAT names the variable and exits 2 before starting", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "start"],
    env: { ...baseEnv(), QISTREAM_LOG_FORMAT: "yaml", QISTREAM_HTTP_PORT: "0" },
    clearEnv: true,
    stdin: "null",
  }).output();
  assert.equal(out.code, 2);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.match(stderr, /QISTREAM_LOG_FORMAT is "yaml", expected one of auto, json, pretty/);
  assert.doesNotMatch(new TextDecoder().decode(out.stdout), /is up/);
});

Deno.test("`main.ts start` on a busy port says so and exits 1", async () => {
  const busy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response());
  const dataDir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "start"],
      env: { NO_COLOR: "1", QISTREAM_HTTP_PORT: String(busy.addr.port), QISTREAM_DATA_DIR: dataDir },
      cwd: new URL("..", import.meta.url).pathname,
      stdin: "null",
    }).output();
    assert.equal(out.code, 1);
    assert.match(
      new TextDecoder().decode(out.stderr),
      new RegExp(`Cannot start the HTTP server on 127\\.0\\.0\\.1:${busy.addr.port}: AddrInUse`),
    );
  } finally {
    await busy.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  }
});
