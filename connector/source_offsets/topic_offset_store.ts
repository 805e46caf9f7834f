/**
 * Source positions in a compacted topic (default `qistream.source-offsets`), keyed by agent id, the value the
 * position as JSON — as Kafka Connect keeps source offsets in `connect-offsets`. A load reads the topic to its
 * end and takes the agent's last value, so a node resumes what another node saved; compaction keeps one value
 * per agent. A reset writes a tombstone.
 *
 * @module
 */
import { readTopicToEnd } from "../read_topic_to_end.ts";
import type { StreamConnector } from "../types.ts";
import type { SourceOffsetStore, SourcePosition } from "./source_offset_store.ts";

/** The default topic of source positions. */
export const SOURCE_OFFSETS_TOPIC = "qistream.source-offsets";

/** Positions kept in a compacted topic of the connector's log. */
export class TopicOffsetStore implements SourceOffsetStore {
  readonly where: string;
  readonly #connector: StreamConnector;
  readonly #topic: string;

  /**
   * @param connector a connected connector (the node's)
   * @param topic a compacted topic; declared in the pipeline file
   */
  constructor(connector: StreamConnector, topic: string = SOURCE_OFFSETS_TOPIC) {
    this.#connector = connector;
    this.#topic = topic;
    this.where = `topic ${topic}`;
  }

  async load(agent: string): Promise<SourcePosition | undefined> {
    let found: SourcePosition | undefined;
    const key = new TextEncoder().encode(agent);
    for (const r of await readTopicToEnd(this.#connector, this.#topic, { timeoutMs: 30_000 })) {
      if (r.key === null || !sameBytes(r.key, key)) continue;
      found = r.value === null ? undefined : JSON.parse(new TextDecoder().decode(r.value));
    }
    return found;
  }

  async save(agent: string, position: SourcePosition): Promise<void> {
    await this.#connector.publish(this.#topic, [{
      key: agent,
      value: new TextEncoder().encode(JSON.stringify(position)),
      headers: { "content-type": "application/json" },
    }]);
  }

  async reset(agent: string): Promise<void> {
    await this.#connector.publish(this.#topic, [{ key: agent, value: null }]);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
