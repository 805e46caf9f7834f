/**
 * A schema-registry outage against the real broker and the real registry (Apicurio), staged by a loopback
 * proxy in front of it: good records are never dead-lettered while the registry cannot answer; only the truly
 * undecodable ones are, once it can say so.
 */
import assert from "node:assert/strict";
import { AvroSerde } from "../connector/avro/avro_serde.ts";
import { frameConfluent } from "../connector/avro/confluent_wire_format.ts";
import { DLQ_HEADERS } from "../connector/dead_letter.ts";
import { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import { HttpSchemaRegistry } from "../connector/registry/http_schema_registry.ts";
import type { ConsumedRecord } from "../connector/types.ts";
import { startHttpFaultProxy } from "../tests/http_fault_proxy.ts";
import { needs, services, uniqueName } from "../tests/service_env.ts";
import {
  allCommitted,
  bytes,
  createTopics,
  readAll,
  startPipeline,
  text,
  until,
} from "./_dispatcher_test_helpers.ts";

const schema = {
  type: "record",
  name: "Quote",
  namespace: "qistream.test",
  fields: [{ name: "symbol", type: "string" }, { name: "seq", type: "int" }],
};

Deno.test({
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  name:
    "dispatch over Kafka: a registry outage (503, then refused connections) dead-letters no good record; " +
    "after it every record is stored and only the undecodable ones are dead-lettered",
  async fn() {
    const connector = new KafkaConnector({
      brokers: services.kafkaBrokers!,
      clientId: "dispatcher-registry-test",
      linger: 2,
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
      maxWaitTimeInMs: 100,
    });
    await connector.connect();
    const names = {
      in: uniqueName("registry_outage_in"),
      out: uniqueName("registry_outage_out"),
      dlq: uniqueName("registry_outage_dlq"),
      group: uniqueName("registry_outage"),
    };
    const proxy = startHttpFaultProxy(services.schemaRegistryUrl!);
    try {
      await createTopics(connector, { [names.in]: 2, [names.out]: 2, [names.dlq]: 1 });
      const writer = new AvroSerde({
        registry: new HttpSchemaRegistry({ url: services.schemaRegistryUrl! }),
      });
      await writer.registry.register(`${names.in}-value`, schema);
      const good = 200;
      const records = [];
      for (let seq = 0; seq < good; seq++) {
        const symbol = `S${seq % 10}`;
        records.push({ key: symbol, value: await writer.encode(names.in, { symbol, seq }) });
        if (seq === 50) records.push({ key: "S0", value: bytes("not avro at all") });
        if (seq === 120) {
          records.push({ key: "S1", value: frameConfluent(2_000_000_000, new Uint8Array([2])) });
        }
      }
      await connector.publish(names.in, records);

      // The consumer's registry sits behind the proxy, with a cold cache; the registry "fails" from the start.
      proxy.mode = "503";
      const reader = new AvroSerde({
        registry: new HttpSchemaRegistry({ url: proxy.url, timeoutMs: 2000 }),
      });
      let errors = 0;
      const offStatus = connector.onStatus((s) => void (s.type === "error" && errors++));
      const p = await startPipeline({
        connector,
        agent: names.group,
        topics: [names.in],
        deadLetterTopic: names.dlq,
        fromBeginning: true,
        instances: 2,
        out: names.out,
        decode: async (r: ConsumedRecord) => (await reader.decode(r.value)).value,
      });
      try {
        await until(() => proxy.faults >= 4, 30_000, "decode attempts answered 503");
        // Either the fetch is handed back and redelivered (backed up) or something was dead-lettered.
        await until(
          () => errors >= 3 || p.dispatcher.stats.deadLetters > 0,
          30_000,
          "three redeliveries or a dead letter",
        );
        assert.equal(
          p.dispatcher.stats.deadLetters,
          0,
          "nothing dead-lettered while the registry answers 503",
        );
        assert.match(p.dispatcher.problem() ?? "", /backed up, decoding failed: .*503/);

        proxy.mode = "hang"; // the registry accepts connections and never answers: the client times out
        await until(() => proxy.hangs >= 2, 30_000, "two lookups that timed out");
        assert.equal(p.dispatcher.stats.deadLetters, 0, "nothing dead-lettered while the registry times out");
        assert.match(p.dispatcher.problem() ?? "", /backed up, decoding failed: .*(timed out|abort)/i);

        await proxy.down(); // connections refused
        const before = errors;
        await until(() => errors >= before + 2, 30_000, "retries while the registry is unreachable");
        assert.equal(p.dispatcher.stats.deadLetters, 0, "nothing dead-lettered while the registry is down");

        proxy.mode = "forward";
        proxy.up();
        await allCommitted(connector, names.in, names.group, 60_000);
        assert.equal(p.dispatcher.problem(), undefined, "flowing again");
      } finally {
        offStatus();
        await p.stop();
      }

      const stored = await readAll(connector, names.out, 30_000);
      const seqs = new Set(stored.map((r) => (JSON.parse(text(r.value)) as { seq: number }).seq));
      assert.equal(seqs.size, good, "every good record reached the sink");
      const dead = await readAll(connector, names.dlq, 30_000);
      assert.deepEqual(
        dead.map((r) => r.headers[DLQ_HEADERS.errorClass]).sort(),
        ["NotAvroError", "UnknownSchemaIdError"],
        "only the two undecodable records were dead-lettered",
      );
      assert.ok(dead.every((r) => r.headers[DLQ_HEADERS.stage] === "decode"));
    } finally {
      await proxy.close();
      await connector.admin.deleteTopics([names.in, names.out, names.dlq]).catch(() => {});
      await connector.close();
    }
  },
});
