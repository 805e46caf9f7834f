/**
 * Kafka-specific behaviour against the real broker of the test services (`KAFKA_BROKERS`, and
 * `KAFKA_SASL_BROKERS` with `KAFKA_SASL_USERNAME`/`KAFKA_SASL_PASSWORD` for SASL); skipped without them.
 *
 * kafkajs keeps sockets and timers whose release it does not await in disconnect(), so the op and resource
 * sanitizers are off for broker tests; every test closes its connectors in `finally`.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import type { ConnectorStatus, ConsumedRecord } from "../types.ts";
import {
  AuthenticationError,
  ConnectionError,
  ConnectorClosedError,
  ConsumerCrashedError,
  RecordTooLargeError,
  TopicExistsError,
  UnknownTopicError,
} from "../errors.ts";
import { waitFor } from "../contract/_wait.ts";
import { KafkaConnector } from "./kafka_connector.ts";
import { GZIP_NOT_IMPLEMENTED, withoutGzip } from "./_without_gzip.ts";
import { partitionForKey } from "../murmur2.ts";
import type { KafkaConnectorOptions, KafkaSaslOptions } from "./kafka_options.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");
const saslBrokers = Deno.env.get("KAFKA_SASL_BROKERS");
const saslUser = Deno.env.get("KAFKA_SASL_USERNAME");
const saslPassword = Deno.env.get("KAFKA_SASL_PASSWORD");
const noKafka = !brokers;
const skip = noKafka ? " (skipped: KAFKA_BROKERS is not set)" : "";
const base = { sanitizeOps: false, sanitizeResources: false } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function connector(options: Partial<KafkaConnectorOptions> = {}): KafkaConnector {
  return new KafkaConnector({
    brokers: (brokers ?? "127.0.0.1:9092").split(","),
    clientId: "qistream-test",
    heartbeatInterval: 500,
    sessionTimeout: 10_000,
    maxWaitTimeInMs: 200,
    retry: { initialRetryTime: 100, retries: 5 },
    ...options,
  });
}

async function withTopic<T>(
  c: KafkaConnector,
  partitions: number,
  fn: (topic: string) => Promise<T>,
  config: Record<string, string> = {},
): Promise<T> {
  const topic = `kafka-test-${crypto.randomUUID().slice(0, 8)}`;
  await c.admin.createTopics([{ name: topic, partitions, replicationFactor: 1, config }]);
  try {
    return await fn(topic);
  } finally {
    await c.admin.deleteTopics([topic]);
  }
}

Deno.test({
  ...base,
  name:
    `kafka: connect emits connected; publish, subscribe and partitionCount on an unknown topic fail fast${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector();
    const statuses: ConnectorStatus[] = [];
    c.onStatus((s) => statuses.push(s));
    try {
      await c.connect();
      assert.deepEqual(statuses, [{ type: "connected" }]);
      const started = Date.now();
      const missing = `kafka-test-missing-${crypto.randomUUID().slice(0, 8)}`;
      await assert.rejects(() => c.publish(missing, [{ key: "k", value: null }]), UnknownTopicError);
      await assert.rejects(() => c.partitionCount(missing), UnknownTopicError);
      await assert.rejects(
        () => c.subscribe({ group: "g", topics: [missing], onBatch: () => {} }),
        UnknownTopicError,
      );
      assert.ok(Date.now() - started < 3000, "unknown topics are refused without kafkajs's long retries");
      assert.deepEqual(await c.publish(missing, []), [], "an empty publish is a no-op");
    } finally {
      await c.close();
    }
    assert.equal(statuses.at(-1)?.type, "disconnected");
    await assert.rejects(() => c.publish("any", [{ key: "k", value: null }]), ConnectorClosedError);
  },
});

Deno.test({
  ...base,
  name: "kafka: connect to an unreachable broker retries with backoff, then throws ConnectionError",
  fn: async () => {
    const c = new KafkaConnector({
      brokers: ["127.0.0.1:1"],
      connectionTimeout: 500,
      retry: { initialRetryTime: 100, maxRetryTime: 1500, retries: 1 },
    });
    const statuses: ConnectorStatus[] = [];
    c.onStatus((s) => statuses.push(s));
    try {
      const error = await c.connect().then(() => null, (e) => e);
      assert.ok(error instanceof ConnectionError, `expected ConnectionError, got ${error}`);
      assert.equal(error.retriable, true);
      assert.deepEqual(error.brokers, ["127.0.0.1:1"]);
      const retries = statuses.filter((s) => s.type === "reconnecting");
      assert.ok(retries.length >= 2, "a reconnecting status per retry");
      assert.deepEqual(retries.slice(0, 2).map((s) => s.type === "reconnecting" && s.delayMs), [100, 200]);
    } finally {
      await c.close();
    }
  },
});

for (const mechanism of ["plain", "scram-sha-256", "scram-sha-512"] as const) {
  const ready = saslBrokers && saslUser && saslPassword;
  Deno.test({
    ...base,
    name: `kafka: SASL ${mechanism} authenticates, publishes and consumes${
      ready ? "" : " (skipped: KAFKA_SASL_BROKERS/USERNAME/PASSWORD not set)"
    }`,
    ignore: !ready,
    fn: async () => {
      const sasl: KafkaSaslOptions = { mechanism, username: saslUser!, password: saslPassword! };
      const c = connector({ brokers: saslBrokers!.split(","), sasl });
      try {
        await withTopic(c, 1, async (topic) => {
          const [ack] = await c.publish(topic, [{ key: "k", value: encoder.encode(mechanism) }]);
          assert.equal(ack!.offset, "0");
          const got: ConsumedRecord[] = [];
          const sub = await c.subscribe({
            group: `sasl-${crypto.randomUUID().slice(0, 8)}`,
            topics: [topic],
            fromBeginning: true,
            onBatch: (b) => void got.push(...b.records),
          });
          try {
            await waitFor(() => got.length === 1, 30_000, "the record over SASL");
            assert.equal(decoder.decode(got[0]!.value!), mechanism);
          } finally {
            await sub.close();
          }
        });
      } finally {
        await c.close();
      }
    },
  });
}

Deno.test({
  ...base,
  name: `kafka: wrong SASL credentials fail with AuthenticationError, without retrying${
    saslBrokers ? "" : " (skipped: KAFKA_SASL_BROKERS not set)"
  }`,
  ignore: !saslBrokers,
  fn: async () => {
    const c = connector({
      brokers: saslBrokers!.split(","),
      sasl: { mechanism: "plain", username: saslUser ?? "qistream", password: "not-the-password" },
    });
    const statuses: ConnectorStatus[] = [];
    c.onStatus((s) => statuses.push(s));
    try {
      const error = await c.connect().then(() => null, (e) => e);
      assert.ok(error instanceof AuthenticationError, `expected AuthenticationError, got ${error}`);
      assert.equal(error.retriable, false);
      assert.ok(!String(error.message).includes("not-the-password"), "the password is not in the message");
      assert.equal(statuses.filter((s) => s.type === "reconnecting").length, 0);
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name: `kafka: gzip-compressed batches round-trip keys, values, headers and tombstones${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector({ compression: "gzip" });
    try {
      await withTopic(c, 2, async (topic) => {
        const value = encoder.encode("x".repeat(2000));
        const acks = await c.publish(topic, [
          { key: "a", value, headers: { "correlation-id": "c-1", schema: "trade-v1" } },
          { key: encoder.encode("b"), value: null },
        ]);
        assert.equal(acks.length, 2);
        const got: ConsumedRecord[] = [];
        const sub = await c.subscribe({
          group: `gzip-${crypto.randomUUID().slice(0, 8)}`,
          topics: [topic],
          fromBeginning: true,
          onBatch: (b) => void got.push(...b.records),
        });
        try {
          await waitFor(() => got.length === 2, 30_000, "both records");
          const a = got.find((r) => decoder.decode(r.key!) === "a")!;
          assert.deepEqual(a.value, value);
          assert.deepEqual(a.headers, { "correlation-id": "c-1", schema: "trade-v1" });
          const b = got.find((r) => decoder.decode(r.key!) === "b")!;
          assert.equal(b.value, null, "a tombstone stays null");
        } finally {
          await sub.close();
        }
      });
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name:
    `kafka: a record over the limit fails alone with RecordTooLargeError; calls batched with it succeed${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector({ linger: 50, maxRecordBytes: 10_000 });
    try {
      await withTopic(c, 1, async (topic) => {
        const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
        // Over our own limit: refused before sending, with the sizes.
        const local = await c.publish(topic, [{ key: "k", value: random(20_000) }]).then(
          () => null,
          (e) => e,
        );
        assert.ok(local instanceof RecordTooLargeError);
        assert.equal(local.limit, 10_000);
        assert.ok(local.size > 20_000);
        // Under our limit but over the topic's max.message.bytes: the broker refuses the coalesced send, the
        // calls are resent one by one, and only the offending one fails.
        const [small1, big, small2] = await Promise.allSettled([
          c.publish(topic, [{ key: "k", value: random(100) }]),
          c.publish(topic, [{ key: "k", value: random(5000) }]),
          c.publish(topic, [{ key: "k", value: random(100) }]),
        ]);
        assert.equal(small1.status, "fulfilled");
        assert.equal(small2.status, "fulfilled");
        assert.equal(big.status, "rejected");
        assert.ok(big.status === "rejected" && big.reason instanceof RecordTooLargeError, String(big));
        const [offsets] = await c.offsets(topic);
        assert.equal(offsets!.high, "2", "exactly the two small records were written");
      }, { "max.message.bytes": "2000" });
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name: `kafka: an oversize record merged with other calls over 2 partitions fails alone; the others land ` +
    `exactly once, in order, at the offsets they were told, and the partitions are not wedged${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector({ linger: 50, maxRecordBytes: 100_000 });
    try {
      await withTopic(c, 2, async (topic) => {
        const keyOn = (partition: number) =>
          Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === partition)!;
        const k0 = keyOn(0), k1 = keyOn(1);
        const small = (key: string, tag: string) => ({ key, value: encoder.encode(tag) });
        // One merged send: the broker appends partition 1's batch and refuses partition 0's (over
        // max.message.bytes); kafkajs fails the whole request.
        const results = await Promise.allSettled([
          c.publish(topic, [small(k0, "a0"), small(k1, "a1")]),
          c.publish(topic, [small(k1, "b1")]),
          c.publish(topic, [{ key: k0, value: crypto.getRandomValues(new Uint8Array(5000)) }]),
          c.publish(topic, [small(k0, "d0")]),
          c.publish(topic, [small(k1, "e1")]),
        ]);
        assert.deepEqual(results.map((r) => r.status), [
          "fulfilled",
          "fulfilled",
          "rejected",
          "fulfilled",
          "fulfilled",
        ], results.map((r) => r.status === "rejected" ? String(r.reason) : "ok").join("; "));
        const big = results[2]!;
        assert.ok(big.status === "rejected" && big.reason instanceof RecordTooLargeError, String(big));
        // Not wedged: later publishes to both partitions go through.
        const after = await c.publish(topic, [small(k0, "f0"), small(k1, "f1")]);
        const told = new Map<string, string>();
        const calls = [["a0", "a1"], ["b1"], [], ["d0"], ["e1"]];
        results.forEach((r, i) => {
          if (r.status !== "fulfilled") return;
          r.value.forEach((p, j) => told.set(calls[i]![j]!, `${p.partition}@${p.offset}`));
        });
        after.forEach((p, j) => told.set(["f0", "f1"][j]!, `${p.partition}@${p.offset}`));

        const seen: ConsumedRecord[] = [];
        const sub = await c.subscribe({
          group: `oversize-${crypto.randomUUID().slice(0, 8)}`,
          topics: [topic],
          fromBeginning: true,
          onBatch: (b) => void seen.push(...b.records),
        });
        try {
          const offsets = await c.offsets(topic);
          const total = offsets.reduce((n, o) => n + Number(o.high), 0);
          await waitFor(() => seen.length >= total, 20_000, `${total} records`);
          const on = (partition: number) =>
            seen.filter((r) => r.partition === partition).sort((a, b) => Number(a.offset) - Number(b.offset))
              .map((r) => decoder.decode(r.value!));
          assert.deepEqual(on(0), ["a0", "d0", "f0"], "partition 0: exactly once, in order");
          assert.deepEqual(on(1), ["a1", "b1", "e1", "f1"], "partition 1: exactly once, in order");
          for (const r of seen) {
            assert.equal(told.get(decoder.decode(r.value!)), `${r.partition}@${r.offset}`, "reported offset");
          }
        } finally {
          await sub.close();
        }
      }, { "max.message.bytes": "2000" });
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name:
    `kafka: a merged send with a call to a topic deleted meanwhile fails that call with UnknownTopicError; ` +
    `the other calls' records land exactly once, in order${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector({ linger: 50, retry: { initialRetryTime: 100, retries: 2 } });
    try {
      await withTopic(c, 2, async (topic) => {
        // Never created, and the producer never auto-creates topics (a dead-letter topic nobody declared).
        const gone = `kafka-test-missing-${crypto.randomUUID().slice(0, 8)}`;
        const keyOn = (partition: number) =>
          Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === partition)!;
        const record = (partition: number, tag: string) => ({
          key: keyOn(partition),
          value: encoder.encode(tag),
        });
        const results = await Promise.allSettled([
          c.publish(topic, [record(0, "a0"), record(1, "a1")]),
          c.publish(gone, [{ key: "k", value: encoder.encode("lost") }]),
          c.publish(topic, [record(1, "b1"), record(0, "b0")]),
        ]);
        assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
        const refused = results[1]!;
        assert.ok(
          refused.status === "rejected" && refused.reason instanceof UnknownTopicError,
          String(refused),
        );
        const seen: ConsumedRecord[] = [];
        const sub = await c.subscribe({
          group: `gone-${crypto.randomUUID().slice(0, 8)}`,
          topics: [topic],
          fromBeginning: true,
          onBatch: (b) => void seen.push(...b.records),
        });
        try {
          const total = (await c.offsets(topic)).reduce((n, o) => n + Number(o.high), 0);
          await waitFor(() => seen.length >= total, 20_000, `${total} records`);
          const on = (partition: number) =>
            seen.filter((r) => r.partition === partition).sort((a, b) => Number(a.offset) - Number(b.offset))
              .map((r) => decoder.decode(r.value!));
          assert.deepEqual(on(0), ["a0", "b0"], "partition 0: exactly once, in order");
          assert.deepEqual(on(1), ["a1", "b1"], "partition 1: exactly once, in order");
        } finally {
          await sub.close();
        }
      });
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name: `kafka: metrics count records and bytes in and out and produce latency${skip}`,
  ignore: noKafka,
  fn: async () => {
    const registry = new Registry();
    const c = connector({ registry });
    try {
      await withTopic(c, 1, async (topic) => {
        const records = Array.from(
          { length: 10 },
          (_, i) => ({ key: `k${i}`, value: encoder.encode("v".repeat(20)) }),
        );
        await c.publish(topic, records.slice(0, 4));
        await c.publish(topic, records.slice(4));
        const group = `metrics-${crypto.randomUUID().slice(0, 8)}`;
        let got = 0;
        const sub = await c.subscribe({
          group,
          topics: [topic],
          fromBeginning: true,
          onBatch: (b) => void (got += b.records.length),
        });
        try {
          await waitFor(() => got === 10, 30_000, "the records");
          const value = async (name: string, labels: Record<string, string>) => {
            const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
            const values = (metric?.values ?? []) as {
              labels: Record<string, string>;
              value: number;
              metricName?: string;
            }[];
            return values.find((v) =>
              Object.entries(labels).every(([k, l]) => v.labels[k] === l) &&
              (v.metricName === undefined || v.metricName === name || v.metricName === `${name}_count`)
            )?.value;
          };
          const out = { connector: "kafka", topic };
          assert.equal(await value("qistream_records_out_total", out), 10);
          assert.equal(await value("qistream_bytes_out_total", out), 10 * (2 + 20));
          assert.equal(await value("qistream_records_in_total", { ...out, group }), 10);
          assert.equal(await value("qistream_bytes_in_total", { ...out, group }), 10 * (2 + 20));
          const latency = (await registry.getMetricsAsJSON()).find((m) =>
            m.name === "qistream_produce_latency_seconds"
          );
          const count = (latency?.values as { metricName?: string; value: number }[])
            .find((v) => v.metricName === "qistream_produce_latency_seconds_count")?.value;
          assert.equal(count, 2, "one latency observation per publish call");
        } finally {
          await sub.close();
        }
      });
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name: `kafka: topic admin creates, describes, alters configs, adds partitions and refuses fewer${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector();
    try {
      await c.connect();
      await withTopic(c, 2, async (topic) => {
        await assert.rejects(
          () => c.admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1, config: {} }]),
          TopicExistsError,
        );
        assert.ok((await c.admin.listTopics()).includes(topic));
        assert.ok(
          !(await c.admin.listTopics()).some((t) => t.startsWith("__")),
          "internal topics are hidden",
        );
        let [d] = await c.admin.describeTopics([topic, "kafka-test-does-not-exist"]);
        assert.deepEqual(d, {
          name: topic,
          partitions: 2,
          replicationFactor: 1,
          config: { "retention.ms": "3600000" },
        });
        await c.admin.alterTopicConfig(topic, { "cleanup.policy": "compact" });
        [d] = await c.admin.describeTopics([topic]);
        assert.deepEqual(
          d!.config,
          { "retention.ms": "3600000", "cleanup.policy": "compact" },
          "others are kept",
        );
        await c.admin.createPartitions(topic, 5);
        assert.equal(await c.partitionCount(topic), 5);
        await assert.rejects(() => c.admin.createPartitions(topic, 3), RangeError);
        assert.equal((await c.offsets(topic)).length, 5);
      }, { "retention.ms": "3600000" });
      await c.admin.deleteTopics(["kafka-test-does-not-exist"]); // unknown names are ignored
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name: `kafka: after a rebalance, commits for partitions the member lost are ignored${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector();
    try {
      await withTopic(c, 2, async (topic) => {
        const group = `lost-${crypto.randomUUID().slice(0, 8)}`;
        await c.publish(
          topic,
          [0, 1].flatMap((partition) =>
            Array.from({ length: 5 }, (_, i) => ({ key: null, value: encoder.encode(`${i}`), partition }))
          ),
        );
        let aGot = 0;
        const revokedFromA: number[][] = [];
        const a = await c.subscribe({
          group,
          topics: [topic],
          fromBeginning: true,
          onBatch: (b) => void (aGot += b.records.length), // processed, but not committed yet
          onRevoked: (tps) => void revokedFromA.push(tps.map((tp) => tp.partition)),
        });
        const b = await c.subscribe({ group, topics: [topic], fromBeginning: true, onBatch: () => {} });
        try {
          await waitFor(() => aGot >= 10, 30_000, "A's first deliveries");
          await waitFor(
            () => a.assignments().length === 1 && b.assignments().length === 1,
            30_000,
            "one partition each",
          );
          const lost = b.assignments()[0]!.partition;
          const kept = a.assignments()[0]!.partition;
          assert.ok(revokedFromA.some((r) => r.includes(lost)), "A was told the partition was revoked");
          await a.commit(topic, lost, "4"); // resolves, but is ignored
          await a.commit(topic, kept, "4");
          const offsets = new Map((await c.offsets(topic, group)).map((o) => [o.partition, o.committed]));
          assert.equal(offsets.get(lost), undefined, "nothing committed for the lost partition");
          assert.equal(offsets.get(kept), "5");
        } finally {
          await b.close();
          await a.close();
        }
      });
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name: `kafka: a consumer kafkajs stops for good (a batch it cannot decompress) ends crashed, revokes its ` +
    `partitions and commits nothing more; a new subscription consumes once it can decompress again${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector({ compression: "gzip" });
    try {
      await withTopic(c, 2, async (topic) => {
        await c.publish(topic, [0, 1, 2, 3].map((i) => ({ key: `k${i}`, value: encoder.encode(`v${i}`) })));
        const group = `crash-${crypto.randomUUID().slice(0, 8)}`;
        const revoked: number[] = [];
        await withoutGzip(async (restore) => {
          const sub = await c.subscribe({
            group,
            topics: [topic],
            fromBeginning: true,
            onBatch: () => assert.fail("nothing can be delivered"),
            onRevoked: (tps) => void revoked.push(...tps.map((tp) => tp.partition)),
          });
          const end = await sub.ended;
          assert.equal(end.kind, "crashed");
          const error = (end as { error: Error }).error;
          assert.ok(error instanceof ConsumerCrashedError, `a ConsumerCrashedError: ${error}`);
          assert.equal(error.retriable, true, "subscribing again may help");
          assert.match(error.message, GZIP_NOT_IMPLEMENTED);
          assert.equal(sub.health().state, "crashed");
          assert.match(sub.health().reason ?? "", GZIP_NOT_IMPLEMENTED);
          assert.deepEqual(revoked.sort(), [0, 1], "its partitions were revoked");
          assert.deepEqual(sub.assignments(), []);
          await sub.close(); // closing a crashed membership is harmless
          restore();
          const got: ConsumedRecord[] = [];
          const again = await c.subscribe({
            group,
            topics: [topic],
            fromBeginning: true,
            onBatch: (b) => void got.push(...b.records),
          });
          try {
            await waitFor(() => got.length === 4, 30_000, "the records after the codec is back");
            assert.equal(again.health().state, "consuming");
          } finally {
            await again.close();
          }
        });
      });
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  ...base,
  name:
    `kafka: a group that starts at the end commits where it started on partitions it never committed, so ` +
    `what is written while it is away is consumed after it rejoins${skip}`,
  ignore: noKafka,
  fn: async () => {
    const c = connector();
    try {
      await withTopic(c, 2, async (topic) => {
        await c.publish(topic, [{ key: null, value: encoder.encode("before"), partition: 0 }]);
        const group = `start-${crypto.randomUUID().slice(0, 8)}`;
        const first = await c.subscribe({ group, topics: [topic], onBatch: () => {} });
        try {
          await waitFor(
            async () => {
              const offsets = await c.offsets(topic, group);
              return offsets.length === 2 && offsets.every((p) => p.committed === p.high);
            },
            30_000,
            "the starting points committed (the high watermarks: 1 and 0)",
          );
        } finally {
          await first.close();
        }
        // Away: records arrive on both partitions, one of which never had a record.
        await c.publish(topic, [
          { key: null, value: encoder.encode("away-0"), partition: 0 },
          { key: null, value: encoder.encode("away-1"), partition: 1 },
        ]);
        const got: ConsumedRecord[] = [];
        const again = await c.subscribe({
          group,
          topics: [topic],
          onBatch: (b) => void got.push(...b.records),
        });
        try {
          await waitFor(() => got.length === 2, 30_000, "the records written while the group was away");
          assert.deepEqual(got.map((r) => decoder.decode(r.value!)).sort(), ["away-0", "away-1"]);
        } finally {
          await again.close();
        }
      });
    } finally {
      await c.close();
    }
  },
});
