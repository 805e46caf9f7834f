/**
 * The bypass corpus: what an MCP client holding only a **reader** token tried against `postgres.query` and
 * `clickhouse.query` (issue 11), replayed through `/mcp` of a running node against the real PostgreSQL and
 * ClickHouse. The test services' `DATABASE_URL` is a superuser, as many users' will be: the node's own privilege
 * separation (its `qistream_reader` role, its own pool, a separate ClickHouse user) must make it safe.
 *
 * Each attempt must be refused **by the database** (the message is the server's), and afterwards: the data is
 * intact, no file was written, no program ran, no other session was terminated, no lock survived the call.
 */
import assert from "node:assert/strict";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import postgres from "postgres";
import { needs } from "../service_env.ts";
import { runId, startNode, testConfig, type TestNode } from "./_pipeline_harness.ts";

const READER = "reader-token-0123456789abcdef";
const OTHER_READER = "other-reader-token-0123456789";
const WRITER = "writer-token-0123456789abcdef";

/** An MCP client over HTTP with one token. */
async function mcp(url: string, token: string) {
  const client = new Client({ name: "bypass", version: "0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  const raw = async (name: string, args: Record<string, unknown>) =>
    await client.callTool({ name, arguments: args }) as CallToolResult;
  return {
    raw,
    text: (r: CallToolResult) => (r.content as { text?: string }[]).map((c) => c.text ?? "").join(""),
    async call(name: string, args: Record<string, unknown>) {
      const r = await raw(name, args);
      if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
      return r.structuredContent as Record<string, unknown>;
    },
    close: () => client.close(),
  };
}

type Mcp = Awaited<ReturnType<typeof mcp>>;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

function nodeConfig(id: string, env: Record<string, string | undefined>, extra = "") {
  return testConfig(
    `
node: { name: bypass-${id}, dataDir: ${env.DATA_DIR}, http: { port: 0 } }
connections:
  postgres: { url: "\${DATABASE_URL}" }
${env.CLICKHOUSE_URL ? '  clickhouse: { url: "${CLICKHOUSE_URL}", readUrl: "${CLICKHOUSE_READ_URL}" }' : ""}
mcp:
  tokens:
    - { name: reader, token: "\${READER_TOKEN}", role: reader }
    - { name: other-reader, token: "\${OTHER_READER_TOKEN}", role: reader }
    - { name: writer, token: "\${WRITER_TOKEN}", role: writer }
  query: { timeoutMs: 2000, maxConnections: 4, perCaller: 2 }
${extra}
`,
    env,
  );
}

async function withNode(fn: (node: TestNode, id: string) => Promise<void>, withClickHouse: boolean) {
  const id = runId();
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-bypass-" });
  const env = {
    DATA_DIR: dataDir,
    READER_TOKEN: READER,
    OTHER_READER_TOKEN: OTHER_READER,
    WRITER_TOKEN: WRITER,
    DATABASE_URL: Deno.env.get("DATABASE_URL"),
    ...(withClickHouse
      ? {
        CLICKHOUSE_URL: Deno.env.get("CLICKHOUSE_URL"),
        CLICKHOUSE_READ_URL: Deno.env.get("CLICKHOUSE_READ_URL"),
      }
      : {}),
  };
  const node = await startNode(nodeConfig(id, env));
  try {
    await fn(node, id);
  } finally {
    await node.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

function ticks(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    symbol: `SYM${i % 5}`,
    source: "bypass",
    ts: 1_700_000_000_000 + i,
    price: 100 + i,
    kafka_topic: "bypass",
    kafka_partition: 0,
    kafka_offset: String(i),
  }));
}

/** Every attempt is a tool error whose text matches the database's refusal. */
async function refused(reader: Mcp, tool: string, attempts: [string, RegExp][]) {
  for (const [sql, expected] of attempts) {
    const r = await reader.raw(tool, { sql });
    assert.equal(r.isError, true, `must be refused: ${sql}\n${reader.text(r)}`);
    assert.match(reader.text(r), expected, `refused for the right reason: ${sql}`);
  }
}

Deno.test({
  ...needs("DATABASE_URL"),
  name:
    "bypass corpus, PostgreSQL: a reader token cannot run programs, touch server files, end sessions or keep locks",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withNode(async (node, id) => {
      const table = `bypass_${id}`.toLowerCase();
      const secret = `secret_${id}`.toLowerCase();
      const admin = postgres(Deno.env.get("DATABASE_URL")!, { max: 2, onnotice: () => {} });
      const victim = postgres(Deno.env.get("DATABASE_URL")!, {
        max: 1,
        onnotice: () => {},
        connection: { application_name: `victim-${id}` },
      });
      const reader = await mcp(node.url, READER);
      const other = await mcp(node.url, OTHER_READER);
      const writer = await mcp(node.url, WRITER);
      const marker = `/tmp/qistream-bypass-${id}`;
      let dblink = false;
      try {
        await writer.call("postgres.ensure_table", { kind: "tick", table });
        await writer.call("postgres.insert_rows", { table, rows: ticks(50) });
        await admin.unsafe(`CREATE TABLE "${secret}" (v text)`);
        await admin.unsafe(`INSERT INTO "${secret}" VALUES ('not for readers')`);
        const [{ pid: victimPid }] = await victim`SELECT pg_backend_pid() AS pid` as unknown as [
          { pid: number },
        ];
        const [available] = await admin`SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'`;
        if (available) {
          const [had] = await admin`SELECT 1 FROM pg_extension WHERE extname = 'dblink'`;
          if (!had) {
            await admin`CREATE EXTENSION dblink`;
            dblink = true;
          }
        }

        // The role the node made: no superuser, no attribute, no dangerous membership, not the writer.
        const [role] = await admin`
          SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin
          FROM pg_roles WHERE rolname = 'qistream_reader'`;
        assert.deepEqual({ ...role }, {
          rolsuper: false,
          rolcreaterole: false,
          rolcreatedb: false,
          rolreplication: false,
          rolbypassrls: false,
          rolcanlogin: true,
        });
        const [member] = await admin`
          SELECT count(*)::int AS n FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
          WHERE r.rolname = 'qistream_reader'`;
        assert.equal(member!.n, 0, "qistream_reader is a member of no role");

        // It reads what the node owns, and only that.
        const own = await reader.call("postgres.query", { sql: `SELECT count(*)::int AS n FROM "${table}"` });
        assert.deepEqual(own.rows, [{ n: 50 }]);
        const whoami = await reader.call("postgres.query", {
          sql: "SELECT current_user AS u, session_user AS s",
        });
        assert.deepEqual(whoami.rows, [{ u: "qistream_reader", s: "qistream_reader" }]);

        const denied =
          /permission denied|must be superuser|must be a superuser|read-only transaction|privilege/i;
        await refused(reader, "postgres.query", [
          [`COPY (SELECT 1) TO PROGRAM 'touch ${marker}-program'`, denied],
          [`COPY (SELECT 1) TO '${marker}-file'`, denied],
          [`COPY "${table}" FROM PROGRAM 'touch ${marker}-from-program'`, denied],
          [`COPY "${table}" FROM '/etc/passwd'`, denied],
          ["SELECT pg_read_file('/etc/hostname')", denied],
          ["SELECT pg_read_binary_file('/etc/passwd')", denied],
          ["SELECT pg_ls_dir('.')", denied],
          ["SELECT pg_stat_file('postgresql.conf')", denied],
          ["SELECT lo_import('/etc/passwd')", denied],
          [`SELECT lo_export(0, '${marker}-lo')`, denied],
          [`SELECT pg_terminate_backend(${victimPid})`, denied],
          [`SELECT pg_cancel_backend(${victimPid})`, denied],
          [
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'qistream-writer'",
            denied,
          ],
          ["SELECT pg_reload_conf()", denied],
          ["SELECT rolpassword FROM pg_authid", denied],
          [`SELECT * FROM "${secret}"`, denied],
          ["SET ROLE postgres", /permission denied/],
          ["SELECT set_config('role', 'postgres', false)", /permission denied/],
          ["SELECT set_config('session_authorization', 'postgres', false)", /permission denied/],
          [
            "ALTER SYSTEM SET log_statement = 'none'",
            /permission denied|must be superuser|transaction block/,
          ],
          ["CREATE EXTENSION IF NOT EXISTS dblink", denied],
          [
            "SELECT * FROM dblink('dbname=postgres user=postgres host=127.0.0.1', " +
            `'COPY (SELECT 1) TO PROGRAM ''touch ${marker}-dblink''') AS t(x text)`,
            dblink ? /password|permission denied|non-superuser/i : /does not exist/,
          ],
          // Comment and quoting tricks: still one statement, still this role.
          [`SELECT 1 /* ; */; COPY (SELECT 1) TO PROGRAM 'touch ${marker}-comment'`, /multiple commands/],
          [`SELECT 1; -- \nCOPY (SELECT 1) TO PROGRAM 'touch ${marker}-dash'`, /multiple commands/],
          [`/* */ COPY (SELECT 1) TO PROGRAM $q$touch ${marker}-dollar$q$`, denied],
          [`COPY (SELECT 1) TO PROGRAM E'touch ${marker}-\\x65scape'`, denied],
          [`COMMIT; COPY (SELECT 1) TO PROGRAM 'touch ${marker}-commit'`, /multiple commands/],
        ]);

        // A session setting made inside a call does not leak into the next call on the pooled connection.
        await reader.call("postgres.query", { sql: "SELECT set_config('statement_timeout', '0', false)" });
        await reader.call("postgres.query", {
          sql: "SELECT set_config('default_transaction_read_only', 'off', false)",
        });
        const slow = await reader.raw("postgres.query", { sql: "SELECT pg_sleep(30)" });
        assert.equal(slow.isError, true);
        assert.match(reader.text(slow), /57014|statement timeout|cancel/i);
        // Lowering the timeout inside the statement, then sleeping on a later cursor fetch: the node cancels it.
        const sneaky = await reader.raw("postgres.query", {
          sql: "SELECT set_config('statement_timeout', '0', true) AS t, " +
            "pg_sleep(CASE WHEN g > 150 THEN 30 ELSE 0 END) FROM generate_series(1, 300) g",
        });
        assert.equal(sneaky.isError, true, reader.text(sneaky));
        assert.match(reader.text(sneaky), /57014|cancel/i);
        const write = await reader.raw("postgres.query", { sql: `DELETE FROM "${table}"` });
        assert.match(reader.text(write), /read-only transaction|permission denied/);

        // A session advisory lock does not survive the call, so the sink's ensure_table is not blocked.
        const key = `qistream.ensure_table.${table}`;
        await reader.call("postgres.query", { sql: "SELECT pg_advisory_lock(hashtext($1))", params: [key] });
        const [locks] = await admin`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'
          AND granted AND pid IN (SELECT pid FROM pg_stat_activity WHERE usename = 'qistream_reader')`;
        assert.equal(locks!.n, 0, "no advisory lock held by a reader session after the call");
        const ensured = await writer.call("postgres.ensure_table", { kind: "tick", table });
        assert.equal(ensured.created, false);

        // Pool exhaustion: one caller's ten pg_sleep calls get two connections; the others are refused at once,
        // another caller still gets answers, and the sink writes.
        const flood = Array.from(
          { length: 10 },
          () => reader.raw("postgres.query", { sql: "SELECT pg_sleep(1.5)" }),
        );
        const meanwhile = await other.call("postgres.query", { sql: "SELECT 42 AS answer" });
        assert.deepEqual(meanwhile.rows, [{ answer: 42 }]);
        const inserted = await writer.call("postgres.insert_rows", {
          table,
          rows: ticks(60).slice(50).map((t) => ({ ...t, ts: t.ts + 10_000 })),
        });
        assert.equal(inserted.inserted, 10);
        const results: CallToolResult[] = await Promise.all(flood);
        const busy = results.filter((r: CallToolResult) =>
          r.isError && /already has 2 queries running/.test(reader.text(r))
        );
        assert.equal(
          results.filter((r: CallToolResult) => !r.isError).length,
          2,
          "two of the caller's calls ran",
        );
        assert.equal(busy.length, 8, "the others were refused as busy");
        assert.equal((busy[0]!.structuredContent as { retriable?: boolean }).retriable, true);

        // Afterwards: the data is intact, no file was written, no program ran, the victim session lives.
        const [count] = await admin.unsafe(`SELECT count(*)::int AS n FROM "${table}"`);
        assert.equal(count!.n, 60);
        const [kept] = await admin.unsafe(`SELECT v FROM "${secret}"`);
        assert.equal(kept!.v, "not for readers");
        for (
          const suffix of ["program", "file", "from-program", "lo", "dblink", "comment", "dash", "dollar"]
        ) {
          assert.equal(await exists(`${marker}-${suffix}`), false, `${marker}-${suffix} was not written`);
        }
        assert.equal(await exists(`${marker}-escape`), false);
        assert.equal(await exists(`${marker}-commit`), false);
        const [alive] = await victim`SELECT pg_backend_pid() AS pid`;
        assert.equal(alive!.pid, victimPid, "the other session was not terminated");
      } finally {
        await reader.close();
        await other.close();
        await writer.close();
        await admin.unsafe(`DROP TABLE IF EXISTS "${table}", "${secret}"`);
        if (dblink) await admin`DROP EXTENSION IF EXISTS dblink`;
        await victim.end();
        await admin.end();
      }
    }, false),
});

async function clickHouseCount(ch: ClickHouseClient, table: string): Promise<number> {
  const rs = await ch.query({ query: `SELECT count() AS n FROM \`${table}\` FINAL`, format: "JSONEachRow" });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

Deno.test({
  ...needs("DATABASE_URL", "CLICKHOUSE_URL", "CLICKHOUSE_READ_URL"),
  name:
    "bypass corpus, ClickHouse: a reader token cannot use table functions, write, lift readonly or kill queries",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withNode(async (node, id) => {
      const table = `bypass_${id}`.toLowerCase();
      const ch = createClient({
        url: Deno.env.get("CLICKHOUSE_URL"),
        log: { level: ClickHouseLogLevel.OFF },
      });
      const reader = await mcp(node.url, READER);
      const writer = await mcp(node.url, WRITER);
      const file = `qistream_bypass_${id}.csv`;
      try {
        await writer.call("clickhouse.ensure_table", { kind: "tick", table });
        await writer.call("clickhouse.insert_rows", { table, rows: ticks(40) });
        const own = await reader.call("clickhouse.query", { sql: `SELECT count() AS n FROM \`${table}\`` });
        assert.deepEqual(own.rows, [{ n: "40" }]);

        const readonly = /readonly|read only|Cannot execute|not allowed|forbidden|Syntax error/i;
        await refused(reader, "clickhouse.query", [
          [
            "SELECT * FROM file('/etc/passwd', 'CSV', 'a String')",
            /Table functions are forbidden in readonly/,
          ],
          [
            `SELECT * FROM url('${Deno.env.get("CLICKHOUSE_URL")}/?query=SELECT+1', CSV, 'a String')`,
            /forbidden/,
          ],
          ["SELECT * FROM remote('127.0.0.1', system.one)", /forbidden/],
          [`INSERT INTO FUNCTION file('${file}', 'CSV', 'a String') VALUES ('x')`, readonly],
          [`INSERT INTO \`${table}\` SELECT * FROM \`${table}\``, readonly],
          [`CREATE TABLE \`${table}_url\` (a String) ENGINE = URL('http://127.0.0.1:1/', CSV)`, readonly],
          [`ALTER TABLE \`${table}\` DELETE WHERE 1`, readonly],
          [`DROP TABLE \`${table}\``, readonly],
          [`OPTIMIZE TABLE \`${table}\` FINAL`, readonly],
          ["SET readonly = 0", /readonly/i],
          [`SELECT count() FROM \`${table}\` SETTINGS readonly = 0`, /readonly/i],
          ["SYSTEM SHUTDOWN", readonly],
          [`SELECT 1; DROP TABLE \`${table}\``, /Multi-statements are not allowed/],
          [`SELECT 1 /* ; */; DROP TABLE \`${table}\``, /Multi-statements are not allowed/],
        ]);

        // KILL QUERY: in readonly mode a user may kill its own user's queries; the reader is another user.
        const victimId = `victim_${id}`;
        const victim = ch.query({
          query: "SELECT sleep(2) AS s",
          query_id: victimId,
          format: "JSONEachRow",
        }).then((r) => r.json<{ s: number }>());
        let sawVictim = false;
        for (let i = 0; i < 40 && !sawVictim; i++) {
          const rs = await ch.query({
            query: `SELECT count() AS n FROM system.processes WHERE query_id = '${victimId}'`,
            format: "JSONEachRow",
          });
          sawVictim = Number((await rs.json<{ n: string }>())[0]!.n) > 0;
        }
        assert.ok(sawVictim, "the victim query is running");
        const kill = await reader.raw("clickhouse.query", {
          sql: `KILL QUERY WHERE query_id = '${victimId}' SYNC`,
        });
        assert.equal(kill.isError, true, reader.text(kill));
        assert.match(reader.text(kill), /Readonly user .* attempts to kill query created by/);
        assert.deepEqual(await victim, [{ s: 0 }], "the other user's query ran to its end");

        assert.equal(await clickHouseCount(ch, table), 40, "the data is intact");
        await assert.rejects(
          () =>
            ch.query({ query: `SELECT * FROM file('${file}', 'CSV', 'a String')`, format: "JSONEachRow" }),
          /is not exist|doesn.t exist|No such file|FILE_DOESNT_EXIST/i,
          "no file was written",
        );
      } finally {
        await reader.close();
        await writer.close();
        await ch.command({ query: `DROP TABLE IF EXISTS \`${table}\`` });
        await ch.close();
      }
    }, true),
});
