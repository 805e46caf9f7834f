// Scenarios shared by the PostgreSQL and ClickHouse sink tests, over any connector.
import assert from "node:assert/strict";
import { DLQ_HEADERS } from "../../connector/dead_letter.ts";
import type { StreamConnector } from "../../connector/types.ts";
import { allCommitted, createTopics, readAll, until } from "../../supervisor/_dispatcher_test_helpers.ts";
import { uniqueName } from "../../tests/service_env.ts";
import {
  publishTicks,
  startSinkPipeline,
  type TestDatabase,
  ticks,
  tickSerde,
} from "./_sink_test_helpers.ts";

function names(prefix: string) {
  const base = uniqueName(prefix).toLowerCase();
  return { topic: `${base}.ticks`, dlq: `${base}.dlq`, group: base.replaceAll("_", "-"), table: base };
}

/**
 * N unique ticks in, exactly N rows out; with `kill`, instance 0 is killed twice while batches are in flight and
 * its unacked batches are redelivered to its next incarnation.
 */
export async function exactlyOnceInTable(
  connector: StreamConnector,
  db: TestDatabase,
  opts: { n: number; kill: boolean; dir: string },
): Promise<void> {
  const { topic, dlq, group, table } = names(`${db.database}_sink`);
  await createTopics(connector, { [topic]: 4, [dlq]: 1 });
  const serde = await tickSerde(opts.dir, topic);
  await publishTicks(connector, serde, topic, ticks(opts.n));
  const p = await startSinkPipeline({
    connector,
    database: db.database,
    tools: db.tools,
    serde,
    topic,
    deadLetterTopic: dlq,
    group,
    config: { table, retry: { initialMs: 20, maxMs: 200 } },
    maxBatchRecords: 50,
  });
  try {
    if (opts.kill) {
      const id = `${group}-0`;
      for (const at of [Math.floor(opts.n / 5), Math.floor(opts.n / 2)]) {
        await until(() => p.dispatcher.stats.recordsAcked >= at, 60_000, `${at} records acked`);
        await until(
          () => (p.dispatcher.handle(id)?.inflight ?? 0) > 0,
          10_000,
          "batches in flight on the victim",
        );
        const victim = p.dispatcher.handle(id)!;
        victim.kill();
        await victim.exited;
        await until(() => p.dispatcher.handle(id)?.state === "running", 10_000, "the next incarnation");
      }
    }
    await allCommitted(connector, topic, group, 120_000);
    assert.equal(await db.count(table), opts.n, `exactly ${opts.n} rows in ${table}`);
    assert.equal(await db.duplicates(table), 0, "no natural key twice");
    const dead = await connector.offsets(dlq);
    assert.equal(dead.reduce((s, o) => s + Number(BigInt(o.high) - BigInt(o.low)), 0), 0, "no dead letters");
    if (opts.kill) {
      assert.ok(
        p.dispatcher.stats.redeliveredBatches > 0,
        "the kills left unacked batches that were redelivered",
      );
    }
  } finally {
    await p.stop();
    await db.drop(table);
    await connector.admin.deleteTopics([topic, dlq]).catch(() => {});
  }
}

/**
 * Two ticks with a negative `ts` (valid Avro, refused by the database: a CHECK constraint in PostgreSQL, UInt64
 * in ClickHouse) go to the dead-letter topic with the database's error; their batch-mates are written once.
 */
export async function refusedRowsDeadLettered(
  connector: StreamConnector,
  db: TestDatabase,
  opts: { dir: string; databaseMessage: RegExp },
): Promise<void> {
  const { topic, dlq, group, table } = names(`${db.database}_refuse`);
  await createTopics(connector, { [topic]: 2, [dlq]: 1 });
  const serde = await tickSerde(opts.dir, topic);
  const rows = ticks(300);
  const bad = [17, 211];
  for (const i of bad) rows[i] = { ...rows[i]!, ts: -5 - i };
  await publishTicks(connector, serde, topic, rows);
  const p = await startSinkPipeline({
    connector,
    database: db.database,
    tools: db.tools,
    serde,
    topic,
    deadLetterTopic: dlq,
    group,
    config: { table },
    maxBatchRecords: 50,
  });
  try {
    await allCommitted(connector, topic, group, 60_000);
    const dead = await readAll(connector, dlq);
    assert.equal(dead.length, 2, "one dead letter per refused row");
    const deadTs = new Set<number>();
    for (const d of dead) {
      const tick = (await serde.decode(d.value)).value as { ts: number };
      deadTs.add(tick.ts);
      assert.equal(d.headers[DLQ_HEADERS.stage], "handler");
      assert.equal(d.headers[DLQ_HEADERS.errorClass], "RowsRefusedError");
      assert.equal(d.headers[DLQ_HEADERS.agent], group);
      assert.equal(d.headers[DLQ_HEADERS.sourceTopic], topic);
      const message = d.headers[DLQ_HEADERS.errorMessage]!;
      assert.match(message, new RegExp(`${db.database}\\.insert_rows refused 1 of 1 rows`));
      assert.match(message, /\(database\)/);
      assert.match(message, opts.databaseMessage);
    }
    assert.deepEqual(deadTs, new Set(bad.map((i) => -5 - i)));
    assert.equal(await db.count(table), rows.length - bad.length, "the batch-mates were written");
    assert.equal(await db.duplicates(table), 0);
    assert.ok(p.dispatcher.stats.splits > 0, "the refused rows' batches were split");
    assert.equal(p.dispatcher.stats.retries, 0, "refusals are not retried");
  } finally {
    await p.stop();
    await db.drop(table);
    await connector.admin.deleteTopics([topic, dlq]).catch(() => {});
  }
}
