import assert from "node:assert/strict";
import { currentCorrelationId, getLogger, setupLogging, withCorrelationId } from "./log.ts";
import { isSecretKey, redactText } from "./log_redact.ts";
import { chooseLogFormat } from "./log_format.ts";

function capture(level = "debug", terminal?: { isTerminal: boolean; format?: string }): string[] {
  const lines: string[] = [];
  setupLogging({ level, output: (line) => lines.push(line), format: "auto", ...terminal });
  return lines;
}

Deno.test("log format: pretty in a terminal, JSON lines otherwise, and QISTREAM_LOG_FORMAT forces either", () => {
  assert.equal(chooseLogFormat(undefined, true), "pretty");
  assert.equal(chooseLogFormat(undefined, false), "json");
  assert.equal(chooseLogFormat("auto", false), "json");
  assert.equal(chooseLogFormat("json", true), "json", "asked for JSON in a terminal");
  assert.equal(chooseLogFormat("PRETTY", false), "pretty", "asked for pretty in a pipe");
  assert.throws(
    () => chooseLogFormat("yaml", true),
    /QISTREAM_LOG_FORMAT is "yaml", expected one of auto, json, pretty/,
  );
});

Deno.test("in a terminal a record is one readable line (level, category, message), secrets redacted", () => {
  const lines = capture("debug", { isTerminal: true });
  getLogger("config").warn("loaded {file} with {password}", {
    file: "pipeline.yaml",
    password: "hunter2-pg",
  });
  assert.equal(lines.length, 1);
  // deno-lint-ignore no-control-regex
  const line = lines[0]!.replace(/\x1b\[[0-9;]*m/g, "");
  assert.throws(() => JSON.parse(line), SyntaxError, "a terminal line must not be JSON");
  assert.equal(line.trimEnd().split("\n").length, 1, line);
  assert.match(line, /WRN|WARN/i);
  assert.match(line, /qistream.*config/);
  assert.match(line, /loaded 'pipeline\.yaml' with '\*\*\*'/);
  assert.ok(!lines[0]!.includes("hunter2-pg"), lines[0]!);
  const json = capture("debug", { isTerminal: true, format: "json" });
  getLogger("config").info("loaded {file}", { file: "pipeline.yaml" });
  assert.equal(JSON.parse(json[0]!).file, "pipeline.yaml", "format json wins over the terminal");
});

Deno.test("logs are JSON lines with timestamp, level, logger, message and properties", () => {
  const lines = capture();
  getLogger("config").info("loaded {file}", { file: "pipeline.yaml", topics: 2 });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith("\n"));
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.level, "INFO");
  assert.equal(rec.logger, "qistream.config");
  assert.equal(rec.message, 'loaded "pipeline.yaml"');
  assert.equal(rec.file, "pipeline.yaml");
  assert.equal(rec.topics, 2);
  assert.ok(!Number.isNaN(Date.parse(rec["@timestamp"])));
});

Deno.test("the level filters records", () => {
  const lines = capture("warning");
  const log = getLogger("x");
  log.info("hidden");
  log.warn("shown");
  assert.deepEqual(lines.map((l) => JSON.parse(l).message), ["shown"]);
  assert.throws(() => setupLogging({ level: "loud" }), RangeError);
});

Deno.test("secrets never appear in the output", () => {
  const lines = capture();
  const log = getLogger("redaction");
  const secrets = ["hunter2-pg", "sk-live-abcdef", "tok-123456", "shh-secret", "Zm9vOmJhcg", "ch-pass-99"];
  log.info("connecting to {url} as {user} with {password}", {
    url: "postgres://app:hunter2-pg@db:5432/q",
    user: "app",
    password: "ch-pass-99",
    apiKey: "sk-live-abcdef",
    nested: { api_key: "sk-live-abcdef", headers: { authorization: "Bearer tok-123456" } },
    list: [{ secret: "shh-secret" }],
  });
  log.error("request failed: {error}", {
    error: new Error("auth failed for http://u:Zm9vOmJhcg@registry:8081 with token=tok-123456"),
  });
  log.warn`raw template with https://x:shh-secret@h/`;
  const out = lines.join("");
  for (const s of secrets) assert.ok(!out.includes(s), `secret ${s} leaked: ${out}`);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.url, "postgres://app:***@db:5432/q");
  assert.equal(first.user, "app", "non-secret values are kept");
  assert.equal(first.password, "***");
  assert.equal(first.nested.headers.authorization, "***");
  assert.match(first.message, /postgres:\/\/app:\*\*\*@db:5432\/q/);
  assert.match(lines[1]!, /http:\/\/u:\*\*\*@registry:8081/);
});

Deno.test("redactText and isSecretKey", () => {
  assert.equal(redactText("postgres://user:pass@host/db"), "postgres://user:***@host/db");
  assert.equal(redactText("http://host:8123/?x=1"), "http://host:8123/?x=1");
  assert.equal(redactText("Authorization: Bearer abc.def"), "Authorization: Bearer ***");
  for (const k of ["password", "apiKey", "api_key", "token", "secret", "authorization", "dbPassword"]) {
    assert.ok(isSecretKey(k), k);
  }
  for (const k of ["user", "url", "topic", "tokens_in"]) assert.ok(!isSecretKey(k), k);
});

Deno.test("the correlation id is carried across awaits and nested contexts", async () => {
  const lines = capture();
  const log = getLogger("dispatch");
  log.info("outside");
  await withCorrelationId("corr-1", async () => {
    assert.equal(currentCorrelationId(), "corr-1");
    await new Promise((r) => setTimeout(r, 5));
    log.info("inside");
    withCorrelationId("corr-2", () => log.info("nested"));
  });
  assert.equal(currentCorrelationId(), undefined);
  const ids = lines.map((l) => JSON.parse(l).correlationId);
  assert.deepEqual(ids, [undefined, "corr-1", "corr-2"]);
});
