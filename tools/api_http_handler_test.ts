import assert from "node:assert/strict";
import { createApiHandler } from "./api_http_handler.ts";
import { rolesOf } from "./tool_access.ts";
import { declaredTools } from "./tool_catalog.ts";

const tokens = [
  { name: "grafana", token: "reader-token-0123456789", role: "reader" },
  { name: "ci", token: "nobody-token-0123456789", role: "nobody" },
];

const api = createApiHandler({
  tokens,
  roles: rolesOf(declaredTools()),
  endpoints: [{
    path: "/api/tree",
    permission: "supervision.tree",
    handle: () => Response.json({ id: "root" }),
  }],
});

const get = (path: string, token?: string) =>
  api(new Request(`http://127.0.0.1${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {}));

Deno.test("/api/* answers 401 without a valid token, 403 for a role without the permission, 200 with it", async () => {
  const none = await get("/api/tree");
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="qistream"');
  const wrong = await get("/api/tree", "not-a-token-at-all-000000");
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate") ?? "", /invalid_token/);
  const unknownPathWithoutToken = await get("/api/secret");
  assert.equal(unknownPathWithoutToken.status, 401, "the endpoint list is not public either");
  const forbidden = await get("/api/tree", "nobody-token-0123456789");
  assert.equal(forbidden.status, 403);
  assert.match((await forbidden.json()).error, /role "nobody" of token "ci" may not read \/api\/tree/);
  const ok = await get("/api/tree", "reader-token-0123456789");
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { id: "root" });
  const missing = await get("/api/nope", "reader-token-0123456789");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("/api/* endpoints with {params} and methods: decoded params, caller, 405 for the wrong method", async () => {
  const admin = [{ name: "ops", token: "admin-token-0123456789", role: "admin" }];
  const handler = createApiHandler({
    tokens: admin,
    roles: rolesOf(declaredTools()),
    endpoints: [
      { path: "/api/agents", permission: "lifecycle.agents", handle: () => Response.json({ list: true }) },
      {
        path: "/api/agents/{agent}/pause",
        method: "POST",
        permission: "lifecycle.pause",
        handle: (_r, ctx) => Response.json({ agent: ctx.params.agent, by: ctx.caller, role: ctx.role }),
      },
    ],
  });
  const call = (path: string, method = "GET") =>
    handler(
      new Request(`http://127.0.0.1${path}`, {
        method,
        headers: { authorization: `Bearer ${admin[0]!.token}` },
      }),
    );
  const paused = await call("/api/agents/bar%20builder/pause", "POST");
  assert.deepEqual(await paused.json(), { agent: "bar builder", by: "http:ops", role: "admin" });
  const wrong = await call("/api/agents/x/pause");
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "POST");
  await wrong.body?.cancel();
  const deeper = await call("/api/agents/x/y/pause", "POST");
  assert.equal(deeper.status, 404);
  await deeper.body?.cancel();
  assert.deepEqual(await (await call("/api/agents")).json(), { list: true });
});
