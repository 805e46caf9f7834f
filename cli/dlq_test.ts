/**
 * `qistream dlq list|show|replay` in a subprocess, as a user runs it, over dead letters a running PostgreSQL
 * sink wrote: rows the database refused (a CHECK constraint) and a record that is not Avro. After the table is
 * fixed, a replay stores each refused row exactly once (a second replay adds nothing). On the embedded log and
 * on the real Kafka.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type postgres from "postgres";
import {
  postgresDatabase,
  publishTicks,
  startSinkPipeline,
  ticks,
  tickSerde,
} from "../actors/agents/_sink_test_helpers.ts";
import { EmbeddedConnector } from "../connector/embedded/mod.ts";
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import { sendToDeadLetter } from "../connector/dead_letter.ts";
import { DLQ_REPLAYED_FROM_HEADER } from "../connector/dead_letter_record.ts";
import { EMBEDDED_LOG_DIR } from "../connector/open_connector.ts";
import { readTopicToEnd } from "../connector/read_topic_to_end.ts";
import type { StreamConnector } from "../connector/types.ts";
import { allCommitted, createTopics } from "../supervisor/_dispatcher_test_helpers.ts";
import { needs, services, uniqueName } from "../tests/service_env.ts";
import { runCli } from "./_run_cli_for_test.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function refusedThenReplayed(kafka: string | undefined) {
  const dir = await Deno.makeTempDir({ prefix: "qistream-cli-dlq-" });
  const base = uniqueName("dlq_cli").toLowerCase();
  const topic = `${base}.ticks`;
  const dlq = `${base}.dlq`;
  const group = base.replaceAll("_", "-");
  const table = base;
  const configPath = join(dir, "pipeline.yaml");
  await Deno.writeTextFile(configPath, `node:\n  dataDir: ${dir}\n  deadLetterTopic: ${dlq}\n`);
  // The CLI finds the log and the registry the test writes to: Kafka (or <dataDir>/log) and the embedded
  // registry in <dataDir> (the test's serde registers there).
  const env: Record<string, string> = kafka ? { KAFKA_BROKERS: kafka } : {};
  const cli = (...args: string[]) => runCli(["dlq", ...args, "--config", configPath], env);
  const open = async () => {
    const c: StreamConnector = kafka
      ? new KafkaConnector({ brokers: kafka.split(",") })
      : new EmbeddedConnector({ dataDir: join(dir, EMBEDDED_LOG_DIR), fsync: false, retryBackoffMs: 20 });
    await c.connect();
    return c;
  };
  const db = postgresDatabase(services.databaseUrl!);
  const sql = db.client as postgres.Sql;
  let connector = await open();
  try {
    await createTopics(connector, { [topic]: 2, [dlq]: 1 });
    const serde = await tickSerde(dir, topic);
    const rows = ticks(100);
    const bad = [17, 61];
    for (const i of bad) rows[i] = { ...rows[i]!, ts: -5 - i };
    await publishTicks(connector, serde, topic, rows);
    await connector.publish(topic, [{ key: "junk", value: new TextEncoder().encode("not avro at all") }]);
    const sink = () =>
      startSinkPipeline({
        connector,
        database: "postgres",
        tools: db.tools,
        serde,
        topic,
        deadLetterTopic: dlq,
        group,
        config: { table },
        maxBatchRecords: 20,
      });
    let p = await sink();
    await allCommitted(connector, topic, group, 90_000);
    await p.stop();
    assert.equal(await db.rawRows(table), 98, "the refused rows and the junk record are not stored");
    if (!kafka) await connector.close(); // the embedded log is single-process: the CLI opens it next

    let r = await cli("list");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^3 of 3 dead letters in ${dlq.replaceAll(".", "\\.")}`));
    const lines = r.stdout.trim().split("\n").slice(1);
    assert.equal(lines.length, 3, r.stdout);
    const refused = lines.filter((l) => /handler .* RowsRefusedError: .*violates check constraint/.test(l));
    assert.equal(refused.length, 2, `two rows refused by PostgreSQL's CHECK:\n${r.stdout}`);
    for (const l of refused) {
      assert.match(l, new RegExp(`^\\d+  ${group}  handler  ${topic}\\[[01]\\]@\\d+  \\d+ B  `));
    }
    assert.match(r.stdout, /decode {2}.*\[[01]\]@\d+ {2}15 B {2}NotAvroError/);

    r = await cli("list", "--stage", "handler", "--error", "check constraint", "--limit", "1");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^2 of 3 dead letters .*, newest 1 shown:/);

    const offsetOf = (line: string) => line.split(" ")[0]!;
    r = await cli("show", offsetOf(refused[0]!));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Value \(\d+ bytes\): avro \(schema id \d+\): \{/);
    assert.match(r.stdout, /"ts": -(22|66)/, "the original tick, decoded through the registry");
    assert.match(r.stdout, /dlq\.error\.class: RowsRefusedError/);
    assert.match(r.stdout, /correlation-id: tick-/, "the original headers are shown");
    const junk = lines.find((l) => l.includes("NotAvroError"))!;
    r = await cli("show", offsetOf(junk));
    assert.match(r.stdout, /Key: text: junk/);
    assert.match(r.stdout, /Value \(15 bytes\): text: not avro at all/);
    r = await cli("show", "999");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No dead letter at .*\[0\]@999/);

    // The fix: the table accepts the rows now. Then replay what the database refused, twice.
    const checks = await sql`SELECT conname FROM pg_constraint
      WHERE conrelid = ${table}::regclass AND contype = 'c'`;
    for (const c of checks) await sql.unsafe(`ALTER TABLE "${table}" DROP CONSTRAINT "${c.conname}"`);
    for (const round of [1, 2]) {
      r = await cli("replay", "--all", "--stage", "handler");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Replayed 2 dead letter\(s\)\./, `round ${round}`);
      assert.match(
        r.stderr,
        /progress: replay 2\/2 \(100%\), [\d.]+\/s, done/,
        "the replay reports its progress",
      );
      assert.equal(
        [...r.stdout.matchAll(new RegExp(`replayed ${dlq}\\[0\\]@\\d+ -> ${topic}\\[[01]\\]@\\d+`, "g"))]
          .length,
        2,
      );
    }
    if (!kafka) connector = await open();
    p = await sink();
    await allCommitted(connector, topic, group, 90_000);
    await p.stop();
    assert.equal(await db.rawRows(table), 100, "each refused row stored exactly once after two replays");
    const stored = await sql.unsafe(
      `SELECT (extract(epoch FROM ts) * 1000)::bigint::int AS ts FROM "${table}" WHERE ts < 'epoch' ORDER BY ts`,
    );
    assert.deepEqual(stored.map((s) => s.ts), [-66, -22]);
    if (!kafka) await connector.close();
    r = await cli("list");
    assert.match(
      r.stdout,
      /^3 of 3 dead letters/,
      `nothing new was dead-lettered by the replays: ${r.stderr}`,
    );
  } finally {
    await connector.close().catch(() => {});
    await db.drop(table).catch(() => {});
    await db.close();
    if (kafka) {
      const admin = await open();
      await admin.admin.deleteTopics([topic, dlq]).catch(() => {});
      await admin.close();
    }
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  ...opts,
  ...needs("DATABASE_URL"),
  name:
    "dlq list/show/replay: rows PostgreSQL refused, replayed after the fix, are stored once (embedded log)",
  fn: () => refusedThenReplayed(undefined),
});

Deno.test({
  ...opts,
  ...needs("DATABASE_URL", "KAFKA_BROKERS"),
  name: "dlq list/show/replay: rows PostgreSQL refused, replayed after the fix, are stored once (real Kafka)",
  fn: () => refusedThenReplayed(services.kafkaBrokers!.join(",")),
});

Deno.test("dlq: bad usage exits 2 with the usage text", async () => {
  let r = await runCli(["dlq"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Expected "list", "show" or "replay", got nothing/);
  r = await runCli(["dlq", "replay"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /replay takes dead letters or --all/);
  r = await runCli(["dlq", "show", "x1"]);
  assert.match(r.stderr, /"x1" is not a dead letter/);
  r = await runCli(["dlq", "list", "--limit", "0"]);
  assert.match(r.stderr, /--limit must be a positive integer/);
});

Deno.test("dlq replay: a record two agents dead-lettered goes back once, with dlq.replayed-from (embedded log)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qistream-cli-dlq-twice-" });
  const configPath = join(dir, "pipeline.yaml");
  await Deno.writeTextFile(configPath, `node:\n  dataDir: ${dir}\n`);
  const open = async () => {
    const c = new EmbeddedConnector({ dataDir: join(dir, EMBEDDED_LOG_DIR), fsync: false });
    await c.connect();
    return c;
  };
  try {
    let connector = await open();
    await createTopics(connector, { "market.ticks": 2, "market.dead-letter": 1 });
    const value = new TextEncoder().encode("not avro");
    const [at] = await connector.publish("market.ticks", [{ key: "k", value }]);
    const record = { ...at!, key: new TextEncoder().encode("k"), value, headers: {}, timestamp: Date.now() };
    for (const agent of ["postgres-sink", "clickhouse-sink"]) {
      await sendToDeadLetter(connector, "market.dead-letter", {
        record,
        stage: "decode",
        error: new TypeError("not avro"),
        agent,
        attempts: 1,
      });
    }
    await connector.close();
    const r = await runCli(["dlq", "replay", "--all", "--config", configPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replayed market\.dead-letter\[0\]@0 -> market\.ticks\[\d\]@\d+/);
    assert.match(
      r.stdout,
      /skipped market\.dead-letter\[0\]@1: market\.ticks\[\d\]@0 was replayed from .*@0/,
    );
    assert.match(r.stdout, /Replayed 1 dead letter\(s\)\./);
    connector = await open();
    const source = await readTopicToEnd(connector, "market.ticks");
    await connector.close();
    assert.equal(source.length, 2, "the original and one replayed copy");
    const copy = source.find((s) => s.headers[DLQ_REPLAYED_FROM_HEADER] !== undefined)!;
    assert.equal(copy.headers[DLQ_REPLAYED_FROM_HEADER], "market.dead-letter[0]@0");
    assert.deepEqual(copy.value, value);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
