/**
 * As shipped: `main.ts start` on the embedded defaults (embedded log, embedded PostgreSQL) with only
 * `OPENAI_BASE_URL` / `OPENAI_API_KEY` set, pointed at the fake OpenAI server scripted to explore the schema and
 * count ticks with read-only SQL. `main.ts ask "how many BTC-USD ticks arrived in the last minute?"` prints an
 * answer whose number is what the database says, and the SQL it ran; the API key echoed in a question never
 * reaches the fake's request bodies nor the node's logs; every exchange is in the audit topic.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import { type FakeChatRequest, type FakeReply, startFakeOpenAI } from "../fakes/openai_fake.ts";
import { runCli } from "../../cli/_run_cli_for_test.ts";
import { callTool, spawnStart, untilBanner, waitFor } from "./_pipeline_harness.ts";

const SECRET = "sk-qistream-test-0123456789abcdef";

/** The last tool result the request carries, parsed. */
function lastToolResult(request: FakeChatRequest): { rows?: Record<string, unknown>[] } {
  const tool = request.messages.filter((m) => m.role === "tool").at(-1);
  return JSON.parse(String(tool?.content ?? "{}"));
}

/**
 * A model that first reads the table's columns, then fixes a window ending 2 s ago (so ticks still on their way
 * to the sink cannot change the count afterwards), then counts in it, then answers with the count.
 */
function countingModel(request: FakeChatRequest, n: number): FakeReply {
  if (n === 0) return { toolCalls: [{ name: "postgres__describe", arguments: { table: "market_ticks" } }] };
  if (n === 1) {
    return {
      toolCalls: [{
        name: "postgres__query",
        arguments: {
          sql:
            "SELECT (now() - interval '62 seconds')::text AS since, (now() - interval '2 seconds')::text AS until",
        },
      }],
    };
  }
  if (n === 2) {
    const window = lastToolResult(request).rows![0]!;
    return {
      toolCalls: [{
        name: "postgres__query",
        arguments: {
          sql:
            `SELECT count(*)::int AS n FROM market_ticks WHERE symbol = 'BTC-USD' AND ts > '${window.since}' ` +
            `AND ts <= '${window.until}'`,
        },
      }],
    };
  }
  const count = lastToolResult(request).rows![0]!.n;
  return { content: `${count} BTC-USD ticks arrived in the last minute.` };
}

Deno.test({
  name: "as shipped: deno task ask answers from the embedded database with the SQL it ran, secrets stay home",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const fake = startFakeOpenAI(countingModel);
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-ask-" });
    const started = spawnStart([], {
      QISTREAM_DATA_DIR: dataDir,
      QISTREAM_HTTP_PORT: "0",
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: SECRET,
    });
    try {
      const url = await untilBanner(started, "the start banner", 120_000);
      const token = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
      // A minute of history is not needed: any BTC-USD tick older than 2 s makes the count meaningful.
      await waitFor("BTC-USD ticks older than 2 s in the embedded database", async () => {
        const r = await callTool(url, token, "postgres.query", {
          sql:
            "SELECT count(*)::int AS n FROM market_ticks WHERE symbol = 'BTC-USD' AND ts < now() - interval '3 seconds'",
        });
        return { done: (r.rows as { n: number }[])[0]!.n > 0, seen: r.rows };
      }, 120_000);

      const asked = await runCli(
        [
          "ask",
          "--url",
          `${url}/api/ask`,
          `how many BTC-USD ticks arrived in the last minute? my key is ${SECRET}`,
        ],
        { QISTREAM_DATA_DIR: dataDir },
      );
      assert.equal(asked.code, 0, asked.stderr + asked.stdout);
      const answered = Number(asked.stdout.match(/^(\d+) BTC-USD ticks arrived in the last minute\./m)?.[1]);
      assert.ok(answered > 0, asked.stdout);
      const sql = asked.stdout.match(/SQL \(postgres\.query\):\n\s+(SELECT count\(\*\)[^\n]+)/)?.[1];
      assert.ok(sql, `the SQL it ran is printed:\n${asked.stdout}`);
      const again = await callTool(url, token, "postgres.query", { sql });
      assert.equal(answered, (again.rows as { n: number }[])[0]!.n, "the answer is what the database says");
      assert.match(asked.stdout, /rows \(1\):\n\s+\{"n":\d+\}/);

      // The secret went out only as the Authorization header, never in what the model was shown.
      assert.equal(fake.requests.length, 4);
      for (const body of fake.requests) assert.doesNotMatch(JSON.stringify(body), new RegExp(SECRET));
      assert.match(JSON.stringify(fake.requests[0]!.messages), /my key is \*\*\*/);
      const tools = fake.requests[0]!.tools!.map((t) => t.function.name).sort();
      assert.deepEqual(
        tools,
        ["postgres__describe", "postgres__query"],
        "only the read-only tools are offered",
      );

      // The audit topic has the run: four exchanges and the run's end, queryable over /api.
      await waitFor("the run's audit records", async () => {
        const response = await fetch(`${url}/api/llm/audit?limit=50`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = await response.json() as {
          records: { kind: string; outcome: string; prompt: string }[];
        };
        const kinds = body.records.map((r) => `${r.kind}:${r.outcome}`);
        return {
          done: kinds.filter((k) => k === "exchange:tool_calls").length === 3 && kinds.includes("run:ok") &&
            !JSON.stringify(body).includes(SECRET),
          seen: kinds,
        };
      }, 30_000);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /llm_tokens_total\{[^}]*kind="prompt"[^}]*\} 400/);
      assert.match(metrics, /llm_tool_calls_total\{[^}]*tool="postgres.query"[^}]*\} 2/);
      assert.match(metrics, /llm_request_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} 4/);
    } finally {
      await started.kill();
      await fake.close();
      assert.doesNotMatch(started.output(), new RegExp(SECRET), "the secret never reaches the logs");
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
