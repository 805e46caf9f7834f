/**
 * The stream-connector contract suite: one set of behaviours every {@link StreamConnector} implementation must
 * show, run unchanged against Kafka and the embedded log.
 *
 * Each test uses its own topics and groups (random suffix), creates topics through `connector.admin`, bounds
 * every wait, and closes what it opened. The suite never has two connectors from `makeConnector` open at the
 * same time, so an implementation whose log is owned by one instance (the embedded log's data directory) can
 * return a new instance over the same log on each call. Several members of one group are several
 * subscriptions of one connector.
 *
 * @module
 */
import assert from "node:assert/strict";
import type {
  ConnectorStatus,
  ConsumedRecord,
  PartitionBatch,
  StreamConnector,
  Subscription,
  TopicPartition,
} from "../types.ts";
import { Registry } from "prom-client";
import { connectorMetrics } from "../connector_metrics.ts";
import { ConnectorError } from "../errors.ts";
import { LagMonitor } from "../lag_monitor.ts";
import { delay, waitFor, within } from "./_wait.ts";

/** Options of {@link runContractSuite}. */
export interface ContractSuiteOptions {
  /** Skip every test (e.g. no brokers configured); the reason is appended to the test names. */
  ignore?: boolean;
  /** Why the tests are skipped, shown in their names when `ignore` is true. */
  ignoreReason?: string;
  /** Deno's op sanitizer; default true. Clients with background timers may need false. */
  sanitizeOps?: boolean;
  /** Deno's resource sanitizer; default true. */
  sanitizeResources?: boolean;
  /** Bound of each wait inside a test, in ms; default 60 000. */
  timeoutMs?: number;
  /** Replication factor of the topics the suite creates; default 1. */
  replicationFactor?: number;
}

/**
 * Known Java-client murmur2 hashes (`org.apache.kafka.common.utils.Utils.murmur2`, from Kafka's own
 * `UtilsTest` and other clients' test vectors). The partition is `(hash & 0x7fffffff) % partitions`.
 */
export const JAVA_MURMUR2_VECTORS: ReadonlyArray<readonly [string, number]> = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
  ["1", -1993445489],
  ["12", 126087238],
  ["123", -267702483],
  ["1234", -1614185708],
  ["12345", -1188365604],
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array | null) => (bytes === null ? null : decoder.decode(bytes));
const bytes = (s: string) => encoder.encode(s);
const suffix = () => crypto.randomUUID().slice(0, 8);

/** Collects what a subscription delivered, per partition. */
class Received {
  readonly records: ConsumedRecord[] = [];
  readonly batches: PartitionBatch[] = [];
  add(batch: PartitionBatch): void {
    this.batches.push(batch);
    this.records.push(...batch.records);
  }
  offsets(partition: number): bigint[] {
    return this.records.filter((r) => r.partition === partition).map((r) => BigInt(r.offset));
  }
}

/**
 * Registers the contract tests with `Deno.test`, each named `<name> contract: <behaviour>`.
 *
 * @param name the implementation's name (e.g. `kafka`, `embedded`)
 * @param makeConnector returns a new, not yet connected connector over the same log on every call
 * @param options skipping, sanitizers, timeouts
 * @example
 * ```ts
 * runContractSuite("kafka", () => new KafkaConnector({ brokers: ["127.0.0.1:9092"] }), {
 *   ignore: !Deno.env.get("KAFKA_BROKERS"), ignoreReason: "KAFKA_BROKERS is not set",
 *   sanitizeOps: false, sanitizeResources: false,
 * });
 * ```
 */
export function runContractSuite(
  name: string,
  makeConnector: () => StreamConnector | Promise<StreamConnector>,
  options: ContractSuiteOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const replicationFactor = options.replicationFactor ?? 1;
  const skipNote = options.ignore ? ` (skipped: ${options.ignoreReason ?? "not configured"})` : "";

  const test = (behaviour: string, fn: (connector: StreamConnector) => Promise<void>) =>
    Deno.test({
      name: `${name} contract: ${behaviour}${skipNote}`,
      ignore: options.ignore ?? false,
      sanitizeOps: options.sanitizeOps ?? true,
      sanitizeResources: options.sanitizeResources ?? true,
      fn: async () => {
        const connector = await makeConnector();
        try {
          await within(connector.connect(), timeout, "connect()");
          await within(fn(connector), timeout * 3, "the whole test");
        } finally {
          await within(connector.close(), timeout, "close()");
        }
      },
    });

  const createTopic = async (connector: StreamConnector, prefix: string, partitions: number) => {
    const topic = `contract-${prefix}-${suffix()}`;
    await within(
      connector.admin.createTopics([{ name: topic, partitions, replicationFactor, config: {} }]),
      timeout,
      `creating topic ${topic}`,
    );
    return topic;
  };

  test("publish acknowledges each record with its partition and offset, and order per key holds", async (c) => {
    const topic = await createTopic(c, "order", 3);
    const keys = ["BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD"];
    const perKey = 25;
    // Many concurrent publish calls (they may be coalesced into one send) of interleaved keys.
    const calls = [];
    for (let i = 0; i < perKey; i++) {
      for (const key of keys) {
        calls.push(c.publish(topic, [{
          key,
          value: bytes(`${key}#${i}`),
          headers: { "correlation-id": `${key}-${i}` },
          timestamp: 1_700_000_000_000 + i,
        }]));
      }
    }
    const acks = (await within(Promise.all(calls), timeout, "publish acks")).map((a) => {
      assert.equal(a.length, 1);
      return a[0]!;
    });
    const partitionOfKey = new Map<string, number>();
    const lastOffset = new Map<number, bigint>();
    acks.forEach((ack, i) => {
      const key = keys[i % keys.length]!;
      assert.equal(ack.topic, topic);
      const expected = partitionOfKey.get(key) ?? ack.partition;
      partitionOfKey.set(key, expected);
      assert.equal(ack.partition, expected, `key ${key} always lands on one partition`);
      const offset = BigInt(ack.offset);
      assert.ok(
        offset > (lastOffset.get(ack.partition) ?? -1n),
        "offsets of a partition grow in publish order",
      );
      lastOffset.set(ack.partition, offset);
    });
    const received = new Received();
    const sub = await c.subscribe({
      group: `contract-order-${suffix()}`,
      topics: [topic],
      fromBeginning: true,
      onBatch: async (batch) => {
        received.add(batch);
        await sub.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset);
      },
    });
    try {
      await waitFor(() => received.records.length >= keys.length * perKey, timeout, "every record");
      for (const key of keys) {
        const values = received.records.filter((r) => text(r.key) === key).map((r) => text(r.value));
        assert.deepEqual(values, Array.from({ length: perKey }, (_, i) => `${key}#${i}`), `order of ${key}`);
        const record = received.records.find((r) => text(r.key) === key)!;
        assert.equal(record.partition, partitionOfKey.get(key));
        assert.equal(record.headers["correlation-id"], `${key}-0`);
        assert.equal(record.timestamp, 1_700_000_000_000);
      }
      for (const batch of received.batches) {
        const offsets = batch.records.map((r) => BigInt(r.offset));
        offsets.forEach((o, i) => i > 0 && assert.equal(o, offsets[i - 1]! + 1n, "a batch is consecutive"));
        assert.ok(BigInt(batch.highWatermark) > offsets.at(-1)!, "high watermark is past the batch");
      }
      // Every acknowledged (partition, offset) was delivered with the value published there.
      const byPlace = new Map(received.records.map((r) => [`${r.partition}@${r.offset}`, text(r.value)]));
      acks.forEach((ack, i) => {
        const key = keys[i % keys.length]!;
        assert.equal(byPlace.get(`${ack.partition}@${ack.offset}`), `${key}#${Math.floor(i / keys.length)}`);
      });
    } finally {
      await sub.close();
    }
  });

  test("murmur2 placement: a key lands on the partition the Java client picks", async (c) => {
    const partitions = 12;
    const topic = await createTopic(c, "murmur2", partitions);
    assert.equal(await c.partitionCount(topic), partitions);
    for (const [key, hash] of JAVA_MURMUR2_VECTORS) {
      const expected = (hash & 0x7fffffff) % partitions;
      const [asString] = await c.publish(topic, [{ key, value: bytes(key) }]);
      const [asBytes] = await c.publish(topic, [{ key: bytes(key), value: bytes(key) }]);
      assert.equal(asString!.partition, expected, `partition of "${key}"`);
      assert.equal(asBytes!.partition, expected, `partition of the bytes of "${key}"`);
    }
    const [pinned] = await c.publish(topic, [{ key: "21", value: null, partition: 7 }]);
    assert.equal(pinned!.partition, 7, "an explicit partition overrides the key");
    const offsets = await c.offsets(topic);
    const total = offsets.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
    assert.equal(total, JAVA_MURMUR2_VECTORS.length * 2 + 1);
  });

  test("redelivery after a crash before commit: a new member gets the uncommitted records again", async (c) => {
    const topic = await createTopic(c, "redeliver", 1);
    const group = `contract-redeliver-${suffix()}`;
    await c.publish(topic, Array.from({ length: 10 }, (_, i) => ({ key: "k", value: bytes(`v${i}`) })));
    const first = new Received();
    const a: Subscription = await c.subscribe({
      group,
      topics: [topic],
      fromBeginning: true,
      onBatch: async (batch) => {
        first.add(batch);
        // Only the first three records are processed and committed; the rest is "in progress".
        const done = batch.records.filter((r) => BigInt(r.offset) <= 2n).at(-1);
        if (done) await a.commit(batch.topic, batch.partition, done.offset);
      },
    });
    await waitFor(() => first.records.length >= 10, timeout, "the first member's records");
    await a.close(); // the crash: nothing after offset 2 was committed
    const [committed] = await c.offsets(topic, group);
    assert.equal(committed!.committed, "3");
    const second = new Received();
    const b = await c.subscribe({
      group,
      topics: [topic],
      fromBeginning: true,
      onBatch: (batch) => second.add(batch),
    });
    try {
      await waitFor(() => second.records.length >= 7, timeout, "redelivery to the new member");
      assert.deepEqual(
        second.records.slice(0, 7).map((r) => text(r.value)),
        ["v3", "v4", "v5", "v6", "v7", "v8", "v9"],
        "delivery restarts exactly at the committed offset",
      );
    } finally {
      await b.close();
    }
  });

  test("no commit past an unprocessed record: a failed batch is redelivered and nothing after it is committed", async (c) => {
    const topic = await createTopic(c, "nocommit", 1);
    const group = `contract-nocommit-${suffix()}`;
    const statuses: ConnectorStatus[] = [];
    const off = c.onStatus((s) => statuses.push(s));
    await c.publish(topic, Array.from({ length: 6 }, (_, i) => ({ key: "k", value: bytes(`v${i}`) })));
    const processed: string[] = [];
    const done = new Set<string>();
    const deliveries: string[][] = [];
    let failed = false;
    const committedDuringFailure: (string | undefined)[] = [];
    const sub: Subscription = await c.subscribe({
      group,
      topics: [topic],
      fromBeginning: true,
      onBatch: async (batch) => {
        deliveries.push(batch.records.map((r) => r.offset));
        for (const record of batch.records) {
          if (done.has(record.offset)) continue; // a redelivered batch may start before the failed record
          if (record.offset === "3" && !failed) {
            failed = true;
            committedDuringFailure.push((await c.offsets(topic, group))[0]!.committed);
            throw new Error("handler failed on offset 3");
          }
          processed.push(text(record.value)!);
          done.add(record.offset);
          await sub.commit(batch.topic, batch.partition, record.offset);
        }
      },
    });
    try {
      await waitFor(() => processed.length >= 6, timeout, "every record processed after the failure");
      assert.deepEqual(
        processed,
        ["v0", "v1", "v2", "v3", "v4", "v5"],
        "each record processed once, in order",
      );
      assert.deepEqual(committedDuringFailure, ["3"], "committed position stops before the failed record");
      const failedAt = deliveries.findIndex((d) => d.includes("3"));
      assert.ok(
        deliveries.slice(failedAt + 1).some((d) => d.includes("3")),
        "the failed batch is delivered again",
      );
      await waitFor(
        () => statuses.some((s) => s.type === "error" && /offset 3/.test(s.error.message)),
        timeout,
        "an error status for the failed batch",
      );
      assert.equal((await c.offsets(topic, group))[0]!.committed, "6");
      // A commit for a partition this member does not own is ignored.
      await sub.commit(topic, 5, "100");
      assert.equal((await c.offsets(topic, group)).length, 1);
      assert.equal((await c.offsets(topic, group))[0]!.committed, "6");
    } finally {
      off();
      await sub.close();
    }
  });

  test("pause stops delivery of a partition until resume, without losing records", async (c) => {
    const topic = await createTopic(c, "pause", 1);
    const received = new Received();
    let paused = false;
    const tp: TopicPartition = { topic, partition: 0 };
    const sub: Subscription = await c.subscribe({
      group: `contract-pause-${suffix()}`,
      topics: [topic],
      fromBeginning: true,
      onBatch: async (batch) => {
        assert.equal(paused, false, "no batch is delivered while the partition is paused");
        received.add(batch);
        await sub.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset);
        if (!paused && received.records.length >= 3) {
          paused = true;
          sub.pause([tp]);
        }
      },
    });
    try {
      await c.publish(topic, [0, 1, 2].map((i) => ({ key: "k", value: bytes(`v${i}`) })));
      await waitFor(() => paused, timeout, "the first records and the pause");
      const before = received.records.length;
      await c.publish(topic, [3, 4, 5, 6].map((i) => ({ key: "k", value: bytes(`v${i}`) })));
      await delay(2000);
      assert.equal(received.records.length, before, "nothing delivered while paused");
      paused = false;
      sub.resume([tp]);
      await waitFor(() => received.records.length >= 7, timeout, "the records published while paused");
      assert.deepEqual(
        received.records.map((r) => text(r.value)),
        ["v0", "v1", "v2", "v3", "v4", "v5", "v6"],
        "every record once, in order",
      );
    } finally {
      await sub.close();
    }
  });

  test("rebalance without loss: when a member leaves, the other resumes its partitions from the committed point", async (c) => {
    const partitions = 4;
    const topic = await createTopic(c, "rebalance", partitions);
    const group = `contract-rebalance-${suffix()}`;
    const statuses: ConnectorStatus[] = [];
    const off = c.onStatus((s) => statuses.push(s));
    const wave = async (n: number) => {
      const records = [];
      for (let p = 0; p < partitions; p++) {
        for (let i = 0; i < n; i++) records.push({ key: `p${p}`, value: bytes(`w${n}-${i}`), partition: p });
      }
      await c.publish(topic, records);
    };
    const processed = new Map<string, Set<string>>(); // partition -> offsets processed by anyone
    const mark = (r: ConsumedRecord) => {
      const set = processed.get(String(r.partition)) ?? new Set<string>();
      set.add(r.offset);
      processed.set(String(r.partition), set);
    };
    let bLeaving = false;
    const aAfterLeave = new Map<number, string>(); // first offset A got per partition after B started leaving
    const member = (onRecord: (batch: PartitionBatch) => void) => {
      const holder: { sub?: Subscription } = {};
      return {
        holder,
        options: {
          group,
          topics: [topic],
          fromBeginning: true,
          onBatch: async (batch: PartitionBatch) => {
            onRecord(batch);
            await holder.sub!.commit(batch.topic, batch.partition, batch.records.at(-1)!.offset);
            batch.records.forEach(mark); // counted once committed: "all processed" then means "all committed"
          },
        },
      };
    };
    const a = member((batch) => {
      if (bLeaving && !aAfterLeave.has(batch.partition)) {
        aAfterLeave.set(batch.partition, batch.records[0]!.offset);
      }
    });
    const b = member(() => {});
    await wave(5);
    a.holder.sub = await c.subscribe(a.options);
    try {
      await waitFor(
        () => a.holder.sub!.assignments().length === partitions,
        timeout,
        "A owning every partition",
      );
      b.holder.sub = await c.subscribe(b.options);
      await waitFor(
        () => {
          const na = a.holder.sub!.assignments().length;
          const nb = b.holder.sub!.assignments().length;
          return na > 0 && nb > 0 && na + nb === partitions;
        },
        timeout,
        "the partitions shared between A and B",
      );
      await wave(5);
      await waitFor(
        () => [...processed.values()].reduce((n, s) => n + s.size, 0) >= partitions * 10,
        timeout,
        "both waves processed by the two members",
      );
      const fromB = b.holder.sub!.assignments().map((tp) => tp.partition);
      const before = new Map((await c.offsets(topic, group)).map((o) => [o.partition, o.committed]));
      bLeaving = true;
      await b.holder.sub!.close();
      await waitFor(
        () => a.holder.sub!.assignments().length === partitions,
        timeout,
        "A taking B's partitions",
      );
      await wave(5);
      await waitFor(
        () => [...processed.values()].reduce((n, s) => n + s.size, 0) >= partitions * 15,
        timeout,
        "the third wave processed by A",
      );
      for (const p of fromB) {
        assert.equal(
          aAfterLeave.get(p),
          before.get(p),
          `A resumes partition ${p} exactly at B's committed offset`,
        );
      }
      await waitFor(
        async () => (await c.offsets(topic, group)).every((o) => o.committed === o.high),
        timeout,
        "every partition committed up to its high watermark",
      );
      const offsets = await c.offsets(topic, group);
      for (const o of offsets) {
        const seen = processed.get(String(o.partition)) ?? new Set();
        for (let i = BigInt(o.low); i < BigInt(o.high); i++) {
          assert.ok(seen.has(String(i)), `record ${o.partition}@${i} was processed`);
        }
      }
      assert.ok(statuses.some((s) => s.type === "assigned" && s.group === group), "assigned status events");
      assert.ok(statuses.some((s) => s.type === "revoked" && s.group === group), "revoked status events");
    } finally {
      off();
      await b.holder.sub?.close();
      await a.holder.sub?.close();
    }
  });

  test("close flushes pending publishes and commits what was marked processed", async (c) => {
    const topic = await createTopic(c, "close", 1);
    const group = `contract-close-${suffix()}`;
    await c.publish(topic, [0, 1, 2, 3, 4].map((i) => ({ key: "k", value: bytes(`v${i}`) })));
    const received = new Received();
    let commitDone: Promise<void> | undefined;
    const sub: Subscription = await c.subscribe({
      group,
      topics: [topic],
      fromBeginning: true,
      onBatch: (batch) => {
        received.add(batch);
        // Mark the first wave processed without waiting for the commit; later records stay unprocessed.
        const done = batch.records.filter((r) => BigInt(r.offset) <= 4n).at(-1);
        if (done) commitDone = sub.commit(batch.topic, batch.partition, done.offset);
      },
    });
    await waitFor(() => received.records.length >= 5, timeout, "the first wave");
    const pending = c.publish(topic, [5, 6, 7].map((i) => ({ key: "k", value: bytes(`v${i}`) })));
    await within(c.close(), timeout, "close()");
    const acks = await pending;
    assert.deepEqual(acks.map((a) => a.offset), ["5", "6", "7"], "the pending publish was flushed");
    await commitDone;
    await assert.rejects(() => c.publish(topic, [{ key: "k", value: null }]), ConnectorError);
    const next = await makeConnector();
    try {
      await within(next.connect(), timeout, "connect() of a new connector");
      const [offsets] = await next.offsets(topic, group);
      assert.equal(offsets!.high, "8");
      assert.equal(offsets!.committed, "5", "the marked offset was committed, nothing after it");
    } finally {
      await next.close();
    }
  });

  test("a membership is consuming once joined; close() ends it as closed", async (c) => {
    const topic = await createTopic(c, "health", 2);
    const sub = await c.subscribe({
      group: `contract-health-${suffix()}`,
      topics: [topic],
      onBatch: () => {},
    });
    let ended: unknown;
    void sub.ended.then((end) => (ended = end));
    try {
      await waitFor(() => sub.health().state === "consuming", timeout, "the consuming state");
      assert.equal(sub.health().reason, undefined, "no reason while consuming");
      assert.equal(ended, undefined, "a live membership has not ended");
    } finally {
      await sub.close();
    }
    assert.deepEqual(await within(sub.ended, timeout, "ended"), { kind: "closed" });
    assert.equal(sub.health().state, "closed");
  });

  test("timestampAt reads the timestamp of the record at an offset; null past the end", async (c) => {
    const topic = await createTopic(c, "timestamp", 1);
    const base = 1_700_000_000_000;
    await c.publish(
      topic,
      [0, 1, 2].map((i) => ({ key: "k", value: bytes(`v${i}`), timestamp: base + i * 1000 })),
    );
    assert.equal(await c.timestampAt(topic, 0, "0"), base);
    assert.equal(await c.timestampAt(topic, 0, "2"), base + 2000);
    assert.equal(await c.timestampAt(topic, 0, "3"), null, "nothing at the high watermark");
  });

  test("the lag monitor measures uncommitted records per partition from the log, in records and seconds", async (c) => {
    const topic = await createTopic(c, "lag", 2);
    const group = `contract-lag-${suffix()}`;
    const old = Date.now() - 60_000;
    // Partition 0: 5 records a minute old; partition 1: nothing.
    await c.publish(
      topic,
      [0, 1, 2, 3, 4].map((i) => ({
        key: null,
        value: bytes(`v${i}`),
        partition: 0,
        timestamp: old + i * 1000,
      })),
    );
    const registry = new Registry();
    const metrics = connectorMetrics(registry);
    const monitor = new LagMonitor({ connector: c, targets: [{ group, topics: [topic] }], metrics });
    const sample = async (name: string, partition: number) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      const values = (metric?.values ?? []) as { labels: Record<string, string>; value: number }[];
      return values.find((v) => v.labels.group === group && v.labels.partition === String(partition))?.value;
    };
    // Nobody consumed: a never-committed partition counts from its low watermark; the oldest record's age.
    await monitor.measure();
    assert.equal(await sample("qistream_consumer_lag", 0), 5);
    assert.equal(await sample("qistream_consumer_lag", 1), 0, "an empty partition has a series too");
    const age = (await sample("qistream_consumer_lag_seconds", 0))!;
    const expectedAge = (Date.now() - old) / 1000;
    assert.ok(Math.abs(age - expectedAge) < 2, `the oldest record's age ${age}, expected ~${expectedAge}`);
    assert.equal(await sample("qistream_consumer_lag_seconds", 1), 0);
    // The group commits through offset 2: 2 records left, the oldest of them is record 3.
    const sub = await c.subscribe({
      group,
      topics: [topic],
      fromBeginning: true,
      onBatch: async (batch) => {
        const third = batch.records.find((r) => r.offset === "2");
        if (third) await sub.commit(batch.topic, batch.partition, "2");
      },
    });
    try {
      await waitFor(async () => (await c.offsets(topic, group))[0]?.committed === "3", timeout, "the commit");
      await monitor.measure();
      assert.equal(await sample("qistream_consumer_lag", 0), 2);
      const left = (await sample("qistream_consumer_lag_seconds", 0))!;
      const expected = (Date.now() - (old + 3000)) / 1000;
      assert.ok(
        Math.abs(left - expected) < 2,
        `the age of record 3 (the committed offset): ${left}, ~${expected}`,
      );
    } finally {
      await sub.close();
      await monitor.stop();
    }
  });
}
