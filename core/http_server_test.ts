import assert from "node:assert/strict";
import { startHttpServer } from "./http_server.ts";
import { counter } from "./metrics.ts";

Deno.test("built-in routes over a real port: /healthz, /metrics, /readyz 503 then 200", async () => {
  const http = startHttpServer({ host: "127.0.0.1", port: 0 });
  try {
    assert.ok(http.port > 0);
    assert.equal(http.url, `http://127.0.0.1:${http.port}`);

    const health = await fetch(`${http.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });

    counter({ name: "test_http_visible_total", help: "visible on /metrics" }).inc(7);
    const metrics = await fetch(`${http.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /test_http_visible_total 7/);
    assert.match(text, /qistream_http_requests_total\{route="\/healthz",status="200"\} 1/);

    const empty = await fetch(`${http.url}/readyz`);
    assert.equal(empty.status, 200, "no checks registered: ready");
    await empty.body?.cancel();

    let connected = false;
    http.readiness.add("kafka", () => {
      if (!connected) throw new Error("broker postgres://u:pw@x not connected");
    });
    http.readiness.add("postgres", () => {});
    const notReady = await fetch(`${http.url}/readyz`);
    assert.equal(notReady.status, 503);
    const body = await notReady.json();
    assert.equal(body.status, "not ready");
    assert.deepEqual(body.checks, [
      { name: "kafka", ok: false, reason: "broker postgres://u:***@x not connected" },
      { name: "postgres", ok: true },
    ]);

    connected = true;
    const ready = await fetch(`${http.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).status, "ready");

    const missing = await fetch(`${http.url}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    assert.equal(await http.shutdown(), true);
  }
});

Deno.test("a slow readiness check fails with a timeout", async () => {
  const http = startHttpServer({ host: "127.0.0.1", port: 0 });
  try {
    http.readiness.add(
      "slow",
      (signal) => new Promise((_, reject) => signal.addEventListener("abort", reject)),
      {
        timeoutMs: 50,
      },
    );
    const res = await fetch(`${http.url}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual((await res.json()).checks, [{
      name: "slow",
      ok: false,
      reason: "timed out after 50 ms",
    }]);
  } finally {
    await http.shutdown();
  }
});

Deno.test("handlers mount by prefix; longest prefix wins; built-ins are protected", async () => {
  const http = startHttpServer({ host: "127.0.0.1", port: 0 });
  try {
    http.mount("/api", (req) => Response.json({ by: "api", path: new URL(req.url).pathname }));
    const unmount = http.mount("/api/v2", () => Response.json({ by: "v2" }));
    http.mount("/mcp", () => {
      throw new Error("boom");
    });
    assert.throws(() => http.mount("/metrics", () => new Response()), TypeError);
    assert.throws(() => http.mount("api", () => new Response()), TypeError);
    assert.throws(() => http.mount("/api", () => new Response()), /already mounted/);

    assert.deepEqual(await (await fetch(`${http.url}/api/ticks`)).json(), { by: "api", path: "/api/ticks" });
    assert.deepEqual(await (await fetch(`${http.url}/api/v2/x`)).json(), { by: "v2" });
    const sibling = await fetch(`${http.url}/apix`);
    assert.equal(sibling.status, 404, "/apix is not under /api");
    await sibling.body?.cancel();
    const failed = await fetch(`${http.url}/mcp`);
    assert.equal(failed.status, 500);
    await failed.body?.cancel();

    unmount();
    assert.deepEqual(await (await fetch(`${http.url}/api/v2/x`)).json(), { by: "api", path: "/api/v2/x" });
  } finally {
    await http.shutdown();
  }
});
