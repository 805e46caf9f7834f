import assert from "node:assert/strict";
import { kafkaClientConfig, resolveKafkaOptions } from "./kafka_options.ts";

Deno.test("resolveKafkaOptions fills in the documented defaults", () => {
  const o = resolveKafkaOptions({ brokers: ["127.0.0.1:9092"] });
  assert.equal(o.clientId, "qistream");
  assert.equal(o.compression, "none");
  assert.equal(o.linger, 0);
  assert.equal(o.batchRecords, 1000);
  assert.equal(o.maxRecordBytes, 1024 * 1024);
  assert.deepEqual(o.retry, { initialRetryTime: 300, maxRetryTime: 30_000, retries: 5 });
});

Deno.test("resolveKafkaOptions refuses missing or malformed brokers with a TypeError", () => {
  assert.throws(() => resolveKafkaOptions({ brokers: [] }), TypeError);
  assert.throws(() => resolveKafkaOptions({ brokers: ["localhost"] }), /expected host:port/);
  assert.doesNotThrow(() => resolveKafkaOptions({ brokers: ["kafka-0.kafka:9093", "[::1]:9092"] }));
});

Deno.test("resolveKafkaOptions refuses out-of-range numbers and unknown compressions, accepts every Kafka codec", () => {
  assert.throws(() => resolveKafkaOptions({ brokers: ["a:1"], linger: -1 }), RangeError);
  assert.throws(() => resolveKafkaOptions({ brokers: ["a:1"], batchRecords: 0 }), RangeError);
  assert.throws(() => resolveKafkaOptions({ brokers: ["a:1"], retry: { retries: 0 } }), /retry.retries is 0/);
  assert.throws(
    () => resolveKafkaOptions({ brokers: ["a:1"], heartbeatInterval: 5000, sessionTimeout: 3000 }),
    /less than sessionTimeout/,
  );
  assert.throws(
    () => resolveKafkaOptions({ brokers: ["a:1"], compression: "brotli" as never }),
    /compression is "brotli", expected one of none, gzip, snappy, lz4, zstd/,
  );
  for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
    assert.equal(resolveKafkaOptions({ brokers: ["a:1"], compression }).compression, compression);
  }
});

Deno.test("kafkaClientConfig passes TLS and SASL through and routes logs to LogTape", () => {
  const config = kafkaClientConfig(resolveKafkaOptions({
    brokers: ["broker:9094"],
    clientId: "test",
    ssl: { ca: "-----BEGIN CERTIFICATE-----", servername: "broker" },
    sasl: { mechanism: "scram-sha-512", username: "u", password: "p" },
  }));
  assert.deepEqual(config.brokers, ["broker:9094"]);
  assert.equal(config.clientId, "test");
  assert.deepEqual(config.ssl, { ca: "-----BEGIN CERTIFICATE-----", servername: "broker" });
  assert.deepEqual(config.sasl, { mechanism: "scram-sha-512", username: "u", password: "p" });
  assert.equal(typeof config.logCreator, "function");
  const plain = kafkaClientConfig(resolveKafkaOptions({ brokers: ["broker:9092"] }));
  assert.equal(plain.ssl, undefined);
  assert.equal(plain.sasl, undefined);
});
