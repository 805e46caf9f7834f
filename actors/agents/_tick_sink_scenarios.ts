// Scenarios shared by the PostgreSQL and ClickHouse sink tests, over any connector.
import assert from "node:assert/strict";
import { DLQ_HEADERS } from "../../connector/dead_letter.ts";
import type { StreamConnector } from "../../connector/types.ts";
import { allCommitted, createTopics, readAll, until } from "../../supervisor/_dispatcher_test_helpers.ts";
import { uniqueName } from "../../tests/service_env.ts";
import {
  publishTicks,
  type SinkPipeline,
  sinkRows,
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
 * N unique ticks in, N rows out. Without `kill` nothing is redelivered, so each row must be written exactly once:
 * checked on the raw table (no `FINAL`) and on the sink's own counters. With `kill`, instance 0 is killed twice
 * while batches are in flight and its unacked batches are redelivered to its next incarnation: the table holds N
 * rows after deduplication (PostgreSQL's key refuses the second copies at once; ClickHouse keeps them until a
 * merge, so only the `FINAL` count is exact — no loss after dedup).
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
  if (!opts.kill) await db.createHoldingMerges(table); // so that a second copy of a row stays visible
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
    assert.equal(await db.rowsAfterDedup(table), opts.n, `no loss after dedup: ${opts.n} rows in ${table}`);
    if (!opts.kill) {
      const { redeliveredBatches, retries } = p.dispatcher.stats;
      assert.equal(redeliveredBatches + retries, 0, "a run without redelivery");
      assert.equal(await db.rawRows(table), opts.n, "no duplicates: each tick stored once in the raw table");
      assert.equal(await sinkRows(table, "written"), opts.n, "the sink wrote each row once");
      assert.equal(await sinkRows(table, "duplicate"), 0, "the sink sent no row twice");
    }
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
    assert.equal(
      await db.rowsAfterDedup(table),
      rows.length - bad.length,
      "the batch-mates were written (no loss after dedup; the split halves wrote some twice)",
    );
    assert.ok(p.dispatcher.stats.splits > 0, "the refused rows' batches were split");
    assert.equal(p.dispatcher.stats.retries, 0, "refusals are not retried");
  } finally {
    await p.stop();
    await db.drop(table);
    await connector.admin.deleteTopics([topic, dlq]).catch(() => {});
  }
}

/**
 * Distinct market events that share (symbol, source, ts) — several updates of a symbol within one second, and
 * the same second on several exchanges, as CryptoCompare and Twelve Data stamp ticks at one-second resolution —
 * are all stored, by every database, with the same rows in each: the tables key on the record's provenance.
 */
export async function distinctTicksKept(
  connector: StreamConnector,
  dbs: TestDatabase[],
  opts: { dir: string },
): Promise<void> {
  const { topic, dlq, group, table } = names("same_second");
  await createTopics(connector, { [topic]: 2, [dlq]: 1 });
  const serde = await tickSerde(opts.dir, topic);
  const exchanges = ["Coinbase", "Kraken", "Bitstamp"];
  // 8 symbols x 3 exchanges x 2 updates x 5 seconds: every (symbol, source, ts) is shared by 6 ticks.
  const rows = Array.from({ length: 8 * 3 * 2 * 5 }, (_, i) => {
    const price = 100 + i / 4;
    return {
      symbol: `PAIR-${i % 8}`,
      source: "cryptocompare",
      exchange: exchanges[Math.floor(i / 8) % 3]!,
      ts: 1_700_000_000_000 + 1000 * Math.floor(i / 48),
      price,
      bid: price - 0.5,
      ask: price + 0.5,
      volume: i,
    };
  });
  await publishTicks(connector, serde, topic, rows, 60);
  const pipelines: SinkPipeline[] = [];
  try {
    for (const db of dbs) {
      pipelines.push(
        await startSinkPipeline({
          connector,
          database: db.database,
          tools: db.tools,
          serde,
          topic,
          deadLetterTopic: dlq,
          group: `${group}-${db.database}`,
          config: { table },
          maxBatchRecords: 25,
        }),
      );
    }
    for (const db of dbs) await allCommitted(connector, topic, `${group}-${db.database}`, 60_000);
    const lines = [];
    for (const db of dbs) {
      assert.equal(await db.rowsAfterDedup(table), rows.length, `${db.database} keeps every distinct tick`);
      lines.push(await db.rowLines(table));
    }
    const prices = new Set(lines[0]!.map((l) => l.split(" ").slice(3, 6).join(" ")));
    assert.equal(prices.size, rows.length, "each (exchange, ts, price) is there once");
    for (const [i, db] of dbs.entries()) {
      assert.deepEqual(lines[i], lines[0], `${db.database} holds the same rows as ${dbs[0]!.database}`);
    }
  } finally {
    for (const p of pipelines) await p.stop();
    for (const db of dbs) await db.drop(table);
    await connector.admin.deleteTopics([topic, dlq]).catch(() => {});
  }
}
