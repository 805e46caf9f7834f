/**
 * {@link TopicAdmin} over the embedded log. Changes that affect assignments (new partitions, deleted topics)
 * rebalance the in-process consumer groups.
 *
 * @module
 */

import { UnknownTopicError } from "../errors.ts";
import type { TopicAdmin, TopicDescription } from "../types.ts";
import type { EmbeddedLogStore } from "./embedded_log_store.ts";

/** Topic administration of an embedded log. */
export class EmbeddedTopicAdmin implements TopicAdmin {
  readonly #store: () => EmbeddedLogStore;
  readonly #topologyChanged: (topics: string[]) => Promise<void>;

  /**
   * @param store Returns the open store (throws when the connector is not connected).
   * @param topologyChanged Rebalances the groups subscribed to the given topics.
   */
  constructor(store: () => EmbeddedLogStore, topologyChanged: (topics: string[]) => Promise<void>) {
    this.#store = store;
    this.#topologyChanged = topologyChanged;
  }

  // deno-lint-ignore require-await
  async listTopics(): Promise<string[]> {
    return this.#store().topicNames();
  }

  // deno-lint-ignore require-await
  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    const store = this.#store();
    return names.map((n) => store.describe(n)).filter((d): d is TopicDescription => !!d);
  }

  async createTopics(topics: TopicDescription[]): Promise<void> {
    const store = this.#store();
    for (const topic of topics) await store.createTopic(topic);
    await this.#topologyChanged(topics.map((t) => t.name));
  }

  async createPartitions(topic: string, total: number): Promise<void> {
    if (await this.#store().addPartitions(topic, total)) await this.#topologyChanged([topic]);
  }

  async alterTopicConfig(topic: string, config: Record<string, string>): Promise<void> {
    await this.#store().alterConfig(topic, config);
  }

  async deleteTopics(names: string[]): Promise<void> {
    const store = this.#store();
    for (const name of names) if (!store.describe(name)) throw new UnknownTopicError(name);
    for (const name of names) await store.deleteTopic(name);
    await this.#topologyChanged(names);
  }
}
