/**
 * Consumer groups inside one process: members of a group share the partitions of their topics (Kafka's range
 * assignment), each owned partition is fetched by one loop that delivers batches in order, and a member joining
 * or leaving triggers a rebalance that revokes moved partitions (stop fetching, wait for the in-flight batch,
 * `onRevoked`) before assigning them elsewhere (`onAssigned`, start from the committed offset).
 *
 * @module
 */

import type { SubscribeOptions } from "../types.ts";
import { type GroupHost, type MemberSink, partitionKey as key } from "./group_types.ts";
import { GroupMember } from "./group_member.ts";

export type { GroupHost, GroupSettings, MemberSink } from "./group_types.ts";

/** One consumer group and its members. */
export class ConsumerGroup {
  readonly name: string;
  readonly #host: GroupHost;
  readonly #members: GroupMember[] = [];
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;

  constructor(name: string, host: GroupHost) {
    this.name = name;
    this.#host = host;
  }

  /** Members currently in the group. */
  get size(): number {
    return this.#members.length;
  }

  /** Whether any member subscribes to one of the topics. */
  subscribesTo(topics: string[]): boolean {
    return this.#members.some((m) => m.options.topics.some((t) => topics.includes(t)));
  }

  /**
   * Adds a member and rebalances; resolves once the new assignment is in place.
   *
   * @param options The subscription.
   * @param sink Where the member reports status and metrics.
   * @returns The member's subscription.
   */
  async join(options: SubscribeOptions, sink: MemberSink): Promise<GroupMember> {
    const member = new GroupMember(this, this.#host, sink, options, String(this.#seq++).padStart(10, "0"));
    this.#members.push(member);
    await this.rebalance();
    return member;
  }

  /** Removes a member (revoking all it owns) and rebalances the rest. */
  async leave(member: GroupMember): Promise<void> {
    const i = this.#members.indexOf(member);
    if (i < 0) return;
    this.#members.splice(i, 1);
    await this.rebalance([member]);
  }

  /**
   * Removes several members at once (a connector shutting down): their partitions go to the remaining members.
   *
   * @param sink The connector whose members leave.
   */
  async leaveAll(sink: MemberSink): Promise<void> {
    const leaving = this.#members.filter((m) => m.sink === sink);
    if (leaving.length === 0) return;
    for (const m of leaving) this.#members.splice(this.#members.indexOf(m), 1);
    await this.rebalance(leaving);
    for (const m of leaving) m.markClosed();
  }

  /**
   * Recomputes the assignment (e.g. after topics changed) and moves partitions: revocations complete before any
   * assignment. Rebalances of one group run one at a time.
   *
   * @param leaving Members that left and must give up everything.
   */
  rebalance(leaving: GroupMember[] = []): Promise<void> {
    const run = this.#chain.then(() => this.#rebalance(leaving));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #rebalance(leaving: GroupMember[]): Promise<void> {
    for (const sink of new Set([...leaving, ...this.#members].map((m) => m.sink))) {
      sink.emit({ type: "rebalancing", group: this.name });
    }
    const target = this.#assign();
    await Promise.all([...leaving, ...this.#members].map((m) => {
      const wanted = target.get(m) ?? new Set<string>();
      return m.revoke(m.ownedKeys().filter((k) => !wanted.has(k)));
    }));
    for (const m of this.#members) {
      const owned = new Set(m.ownedKeys());
      await m.assign([...(target.get(m) ?? [])].filter((k) => !owned.has(k)));
    }
  }

  /** Kafka's RangeAssignor: per topic, members (in join order) get contiguous ranges, the first ones one more. */
  #assign(): Map<GroupMember, Set<string>> {
    const target = new Map<GroupMember, Set<string>>(this.#members.map((m) => [m, new Set()]));
    const topics = [...new Set(this.#members.flatMap((m) => m.options.topics))].sort();
    for (const topic of topics) {
      const members = this.#members.filter((m) => m.options.topics.includes(topic));
      const n = this.#host.partitionCount(topic);
      const per = Math.floor(n / members.length);
      const extra = n % members.length;
      let p = 0;
      members.forEach((m, i) => {
        const count = per + (i < extra ? 1 : 0);
        for (let k = 0; k < count; k++) target.get(m)!.add(key(topic, p++));
      });
    }
    return target;
  }
}
