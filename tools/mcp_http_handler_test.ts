import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { startHttpServer } from "../core/http_server.ts";
import { metricsText } from "../core/metrics.ts";
import { demoTools } from "./_demo_tools.ts";
import { createMcpHttpHandler } from "./mcp_http_handler.ts";

const WRITER = "writer-token-0123456789abcdef";
const READER = "reader-token-0123456789abcdef";

async function withServer(
  fn: (url: string, written: { caller: string; value: string }[]) => Promise<void>,
  extra: { allowedHosts?: string[]; allowedOrigins?: string[] } = {},
) {
  const http = startHttpServer({ host: "127.0.0.1", port: 0 });
  const written: { caller: string; value: string }[] = [];
  http.mount(
    "/mcp",
    createMcpHttpHandler({
      tools: demoTools(written),
      tokens: [
        { name: "ops", token: WRITER, role: "writer" },
        { name: "grafana", token: READER, role: "reader" },
      ],
      roles: { writer: ["demo.*"], reader: ["demo.echo"] },
      ...extra,
    }),
  );
  try {
    await fn(`${http.url}/mcp`, written);
  } finally {
    await http.shutdown();
  }
}

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "0" } },
});

function post(url: string, headers: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: initialize,
  });
}

Deno.test("/mcp without or with a wrong bearer token answers 401 with WWW-Authenticate", async () => {
  await withServer(async (url) => {
    const none = await post(url, {});
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="qistream"');
    await none.body?.cancel();
    const wrong = await post(url, { authorization: `Bearer ${WRITER}x` });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate")!, /error="invalid_token"/);
    await wrong.body?.cancel();
    const basic = await post(url, { authorization: `Basic ${btoa("a:b")}` });
    assert.equal(basic.status, 401);
    await basic.body?.cancel();
    const ok = await post(url, { authorization: `Bearer ${WRITER}` });
    assert.equal(ok.status, 200);
    const body = await ok.json();
    assert.equal(body.result.serverInfo.name, "qistream");
  });
});

Deno.test("/mcp refuses a foreign Origin and a Host outside allowedHosts with 403", async () => {
  await withServer(async (url) => {
    const evil = await post(url, { authorization: `Bearer ${WRITER}`, origin: "http://evil.example" });
    assert.equal(evil.status, 403);
    await evil.body?.cancel();
    const same = await post(url, { authorization: `Bearer ${WRITER}`, origin: new URL(url).origin });
    assert.equal(same.status, 200);
    await same.body?.cancel();
  });
  await withServer(async (url) => {
    const ok = await post(url, { authorization: `Bearer ${WRITER}` }); // Host: 127.0.0.1:<port>
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const rebound = await post(url.replace("127.0.0.1", "localhost"), { authorization: `Bearer ${WRITER}` });
    assert.equal(rebound.status, 403);
    await rebound.body?.cancel();
    const origin = await post(url, { authorization: `Bearer ${WRITER}`, origin: "https://console.example" });
    assert.equal(origin.status, 200);
    await origin.body?.cancel();
  }, { allowedHosts: ["127.0.0.1"], allowedOrigins: ["https://console.example"] });
});

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "test", version: "0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

Deno.test("the SDK client lists and calls tools over real HTTP; roles limit what a token may call", async () => {
  await withServer(async (url, written) => {
    const writer = await connect(url, WRITER);
    const { tools } = await writer.listTools();
    const echo = tools.find((t: { name: string }) => t.name === "demo.echo")! as {
      annotations?: unknown;
      inputSchema: unknown;
    };
    assert.deepEqual(echo.annotations, {
      title: "Echo",
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    assert.deepEqual(Object.keys((echo.inputSchema as { properties: object }).properties), ["text"]);
    const r = await writer.callTool({ name: "demo.echo", arguments: { text: "hi" } }) as CallToolResult;
    assert.deepEqual(r.structuredContent, { text: "hi", caller: "http:ops" });
    await writer.callTool({ name: "demo.write", arguments: { value: "v1" } });
    const failed = await writer.callTool({
      name: "demo.write",
      arguments: { value: "boom" },
    }) as CallToolResult;
    assert.equal(failed.isError, true);
    assert.match((failed.content[0] as { text: string }).text, /TypeError: boom refused/);
    await writer.close();

    const reader = await connect(url, READER);
    const denied = await reader.callTool({
      name: "demo.write",
      arguments: { value: "v2" },
    }) as CallToolResult;
    assert.equal(denied.isError, true);
    assert.match((denied.content[0] as { text: string }).text, /access denied: caller "http:grafana"/);
    assert.deepEqual(written, [{ caller: "http:ops", value: "v1", correlationId: undefined }]);
    await reader.close();
    assert.match(await metricsText(), /mcp_tool_denied_total\{caller="http:grafana",tool="demo.write"\} 1/);
  });
});
