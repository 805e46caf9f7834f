/**
 * Dead-letter writes that the real broker refuses: a dead letter too large for the dead-letter topic is
 * written truncated, pointing at the original; a dead-letter topic that does not exist (the producer never
 * creates topics) stops the consumer visibly instead of freezing its commits while it keeps processing.
 */
import assert from "node:assert/strict";
import { DLQ_HEADERS, TRUNCATED_VALUE_BYTES } from "../connector/dead_letter.ts";
import type { KafkaConnector } from "../connector/kafka/kafka_connector.ts";
import type { ConsumedRecord } from "../connector/types.ts";
import { metricsText } from "../core/metrics.ts";
import { needs, uniqueName } from "../tests/service_env.ts";
import { DeadLetterFailedError } from "./dead_letter_failed_error.ts";
import { Dispatcher } from "./dispatcher.ts";
import { dispatcherChild } from "./dispatcher_child.ts";
import type { ExitReason } from "./child_spec.ts";
import { Supervisor, supervisorChild } from "./supervisor.ts";
import type { SupervisorNode } from "./tree_node.ts";
import { type Names, withKafka as withKafkaConnector } from "./_with_kafka.ts";
import { allCommitted, bytes, createTopics, readAll, SINK, text, until } from "./_dispatcher_test_helpers.ts";

/** Values starting with `bad` fail to decode (a non-retriable error): they go to the dead-letter topic. */
const decode = (r: ConsumedRecord) => {
  const value = text(r.value);
  if (value.startsWith("bad")) throw new RangeError(`cannot decode ${value.slice(0, 20)}...`);
  return value;
};

/** Dead-letter retries give up fast here: a missing topic must stop the consumer within the test. */
const withKafka = (prefix: string, fn: (connector: KafkaConnector, names: Names) => Promise<void>) =>
  withKafkaConnector(prefix, fn, { retry: { initialRetryTime: 100, retries: 2 } });

/** The dispatcher and its actors as the pipeline runs them: actors' supervisor, then the dispatcher child. */
async function startTree(
  connector: KafkaConnector,
  names: Names,
  deadLetterTopic: string,
  deadLetterTimeoutMs?: number,
) {
  const dispatcher = new Dispatcher({
    deadLetterTimeoutMs,
    connector,
    agent: names.group,
    topics: [names.in],
    instances: [`${names.group}-0`],
    deadLetterTopic,
    fromBeginning: true,
    maxBatchRecords: 10,
    decode,
  });
  const exits: ExitReason[] = [];
  const root = await Supervisor.start({
    id: "root",
    intensity: 10,
    periodMs: 5000,
    children: [
      supervisorChild({
        id: names.group,
        intensity: 10,
        periodMs: 5000,
        children: dispatcher.children({ module: SINK, config: { out: names.out }, creditWindow: 2 }),
      }),
      dispatcherChild(`${names.group}.dispatcher`, dispatcher),
    ],
  });
  root.onEvent((e) => {
    if (e.type === "child_exited" && e.path.endsWith(".dispatcher")) exits.push(e.reason);
  });
  return { dispatcher, root, exits };
}

Deno.test({
  ...needs("KAFKA_BROKERS"),
  sanitizeOps: false,
  sanitizeResources: false,
  name:
    "dispatch over Kafka: a dead letter larger than the dead-letter topic's max.message.bytes is written " +
    "truncated, with headers that say so and point at the original; the partition moves on",
  fn: () =>
    withKafka("dlq_oversize", async (connector, names) => {
      await createTopics(connector, { [names.in]: 1, [names.out]: 1 });
      await connector.admin.createTopics([
        { name: names.dlq, partitions: 1, replicationFactor: 1, config: { "max.message.bytes": "4000" } },
      ]);
      const big = "bad:" + "x".repeat(20_000);
      await connector.publish(names.in, [
        { key: "k", value: bytes("ok-1") },
        { key: "k", value: bytes(big), headers: { "correlation-id": "c-big", note: "y".repeat(3000) } },
        { key: "k", value: bytes("ok-2") },
      ]);
      const { dispatcher, root } = await startTree(connector, names, names.dlq);
      try {
        await allCommitted(connector, names.in, names.group, 30_000);
        assert.equal(dispatcher.failure, undefined);
      } finally {
        await root.stop();
      }
      const [letter, ...more] = await readAll(connector, names.dlq);
      assert.equal(more.length, 0, "one dead letter");
      const h = letter!.headers;
      assert.equal(h[DLQ_HEADERS.sourceTopic], names.in);
      assert.equal(h[DLQ_HEADERS.sourcePartition], "0");
      assert.equal(h[DLQ_HEADERS.sourceOffset], "1");
      assert.equal(h[DLQ_HEADERS.errorClass], "RangeError");
      assert.equal(h[DLQ_HEADERS.originalValueBytes], String(big.length));
      assert.match(
        h[DLQ_HEADERS.truncated] ?? "",
        new RegExp(`value .*the full record is ${names.in}\\[0\\]@1`),
      );
      assert.equal(h["correlation-id"], "c-big");
      assert.equal(h.note, undefined, "the large original header was dropped");
      assert.equal(text(letter!.value), big.slice(0, TRUNCATED_VALUE_BYTES), "the value's first bytes");
      const stored = (await readAll(connector, names.out)).map((r) => JSON.parse(text(r.value)));
      assert.deepEqual(stored, ["ok-1", "ok-2"]);
    }),
});

Deno.test({
  ...needs("KAFKA_BROKERS"),
  sanitizeOps: false,
  sanitizeResources: false,
  name:
    "dispatch over Kafka: a dead-letter topic that does not exist stops the consumer visibly (supervisor " +
    "crash with DeadLetterFailedError, readiness problem, tree, metric); commits stop before the record",
  fn: () =>
    withKafka("dlq_missing", async (connector, names) => {
      await createTopics(connector, { [names.in]: 1, [names.out]: 1 });
      const missing = uniqueName("dlq_never_created");
      const values = Array.from({ length: 40 }, (_, i) => i === 12 ? "bad-record" : `ok-${i}`);
      await connector.publish(names.in, values.map((v) => ({ key: "k", value: bytes(v) })));
      const { dispatcher, root, exits } = await startTree(connector, names, missing);
      try {
        await until(() => exits.length > 0, 60_000, "the dispatcher child to exit");
        const reason = exits[0]!;
        assert.equal(reason.kind, "crashed");
        assert.ok(reason.kind === "crashed" && reason.error instanceof DeadLetterFailedError, String(reason));
        assert.equal(reason.reason, "dead_letter_failed");
        assert.deepEqual(reason.error.source, { topic: names.in, partition: 0, offset: "12" });
        assert.match(reason.error.message, /UnknownTopicError/);
        assert.match(dispatcher.problem() ?? "", new RegExp(`failed: .*${missing}`), "readiness names it");
        const tree = root.snapshot() as SupervisorNode;
        assert.equal(tree.lastError?.name, "DeadLetterFailedError", "the tree shows the crash");
        assert.match(
          await metricsText(),
          new RegExp(`dispatcher_failed\\{agent="${names.group}"\\} 1`),
          "dispatcher_failed is 1",
        );
        // Everything before the record that could not be dead-lettered is committed, nothing at or past it.
        await until(
          async () => (await connector.offsets(names.in, names.group))[0]?.committed === "12",
          30_000,
          "the commit up to the record",
        );
        // The agent's supervisor restarts the dispatcher (transient); until data flows again, it names the failure.
        assert.match(
          dispatcher.problem() ?? "",
          new RegExp(`failed: .*${missing}`),
          "still named after a restart",
        );
      } finally {
        await root.stop();
      }
    }),
});
