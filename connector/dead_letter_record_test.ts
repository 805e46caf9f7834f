import assert from "node:assert/strict";
import { EmbeddedConnector } from "./embedded/mod.ts";
import { sendToDeadLetter } from "./dead_letter.ts";
import {
  DLQ_REPLAYED_FROM_HEADER,
  NotReplayableError,
  replayRecordOf,
  summarizeDeadLetter,
} from "./dead_letter_record.ts";
import { DLQ_ORIGINAL_HEADERS, originalLocation } from "./original_location.ts";
import { readTopicToEnd } from "./read_topic_to_end.ts";
import type { ConsumedRecord } from "./types.ts";

Deno.test("dead letter records: replayed with its first location kept; a truncated one is refused, naming its original", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-dlq-record-" });
  const connector = new EmbeddedConnector({ dataDir, fsync: false });
  await connector.connect();
  try {
    await connector.admin.createTopics([
      { name: "src", partitions: 2, replicationFactor: 1, config: {} },
      { name: "dlq", partitions: 1, replicationFactor: 1, config: { "max.message.bytes": "3000" } },
    ]);
    const [small] = await connector.publish("src", [{
      key: "k",
      value: new Uint8Array([1, 2, 3]),
      headers: { a: "b" },
    }]);
    const [big] = await connector.publish("src", [{ key: null, value: new Uint8Array(2900), partition: 1 }]);
    const consumed = (
      at: typeof small,
      value: Uint8Array,
      key: Uint8Array | null,
      headers = {},
    ): ConsumedRecord => ({
      ...at!,
      key,
      value,
      headers,
      timestamp: Date.now(),
    });
    const k = new TextEncoder().encode("k");
    const error = new RangeError("refused");
    await sendToDeadLetter(connector, "dlq", {
      record: consumed(small, new Uint8Array([1, 2, 3]), k, { a: "b" }),
      stage: "handler",
      error,
      agent: "sink",
      attempts: 1,
    });
    await sendToDeadLetter(connector, "dlq", {
      record: consumed(big, new Uint8Array(2900), null),
      stage: "decode",
      error,
      agent: "sink",
      attempts: 1,
    });

    const [first, truncated] = await readTopicToEnd(connector, "dlq");
    assert.equal(
      summarizeDeadLetter(truncated!).truncated !== undefined,
      true,
      "the big one was written truncated",
    );
    assert.throws(
      () => replayRecordOf(truncated!),
      (e: unknown) =>
        e instanceof NotReplayableError && /is truncated .*the original is at src\[1\]@0/.test(e.message),
    );

    const replay = replayRecordOf(first!);
    assert.equal(replay.topic, "src");
    assert.deepEqual(replay.record.headers, {
      a: "b",
      [DLQ_REPLAYED_FROM_HEADER]: "dlq[0]@0",
      [DLQ_ORIGINAL_HEADERS.topic]: "src",
      [DLQ_ORIGINAL_HEADERS.partition]: String(small!.partition),
      [DLQ_ORIGINAL_HEADERS.offset]: small!.offset,
    }, "original headers kept, dlq.* headers of the dead letter dropped");
    const [again] = await connector.publish(replay.topic, [replay.record]);
    assert.notEqual(`${again!.partition}@${again!.offset}`, `${small!.partition}@${small!.offset}`);
    const replayed = consumed(again, new Uint8Array([1, 2, 3]), k, replay.record.headers);
    assert.deepEqual(originalLocation(replayed), {
      topic: "src",
      partition: small!.partition,
      offset: small!.offset,
    });

    // The replayed copy fails again and is replayed again: it still names the first original.
    await sendToDeadLetter(connector, "dlq", {
      record: replayed,
      stage: "handler",
      error,
      agent: "sink",
      attempts: 1,
    });
    const letters = await readTopicToEnd(connector, "dlq");
    assert.equal(letters.length, 3);
    const second = replayRecordOf(letters[2]!);
    assert.equal(second.record.headers![DLQ_REPLAYED_FROM_HEADER], "dlq[0]@2");
    assert.equal(second.record.headers![DLQ_ORIGINAL_HEADERS.offset], small!.offset);
    assert.equal(second.record.headers![DLQ_ORIGINAL_HEADERS.partition], String(small!.partition));
  } finally {
    await connector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
