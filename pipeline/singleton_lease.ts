/**
 * Which node runs the cluster's singleton sources (a websocket feed with a connection limit, a replay): the member
 * of one consumer group that owns partition 0 of a one-partition coordination topic. Kafka's group coordinator
 * decides — no home-made consensus. When the owner leaves cleanly, its `onRevoked` stops the singletons before
 * the coordinator hands the partition on (no overlap); when it dies, the coordinator gives the partition to another
 * member once the session timeout has passed, and that node's singletons resume from the source offsets.
 *
 * Fencing window: an owner cut off from the coordinator but still running keeps its singletons until it learns it
 * was dropped. It stops them itself once its membership has not been consuming for a session timeout, so two nodes
 * may run a singleton at once for at most about that long (from when the coordinator expired the old owner's session
 * until the old owner's own session-timeout check fires). Records published twice in that window are the same
 * upstream events under the same keys, which the idempotent sinks store once (docs/operations.md, "Many nodes").
 *
 * On the embedded log there is one node, which always owns the lease ({@linkcode SingletonLease.alwaysOwned}).
 *
 * @module
 */
import type { StreamConnector, Subscription, TopicPartition } from "../connector/types.ts";
import { getLogger } from "../core/log.ts";
import type { Gate } from "../supervisor/mod.ts";

/** The default coordination topic (one partition). */
export const COORDINATION_TOPIC = "qistream.coordination";

/** Options of {@linkcode SingletonLease.join}. */
export interface SingletonLeaseOptions {
  /** The group every node of the pipeline joins, e.g. `qistream.singletons`. */
  group: string;
  /** The one-partition coordination topic. Default {@linkcode COORDINATION_TOPIC}. */
  topic?: string;
  /** The consumers' session timeout: an owner whose membership is not consuming this long stops its singletons. */
  sessionTimeoutMs: number;
}

const log = getLogger("pipeline");

/** The singleton lease of one node: a {@linkcode Gate} open while this node owns partition 0. */
export class SingletonLease implements Gate {
  readonly group: string;
  readonly topic: string;
  #owned: boolean;
  #listeners = new Set<() => Promise<void> | void>();
  #subscription: Subscription | undefined;
  #assigned = false;
  #unhealthySince: number | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #acquiredAt: number | undefined;

  private constructor(group: string, topic: string, owned: boolean) {
    this.group = group;
    this.topic = topic;
    this.#owned = owned;
    if (owned) this.#acquiredAt = Date.now();
  }

  /** The lease of a single-node log (embedded): always owned. */
  static alwaysOwned(): SingletonLease {
    return new SingletonLease("embedded", "none", true);
  }

  /**
   * Joins the coordination group; the lease is owned once the coordinator assigns partition 0 to this member.
   *
   * @param connector the node's connected connector
   * @param options group, topic, session timeout
   * @returns the lease (not owned yet; listeners hear when it is)
   */
  static async join(connector: StreamConnector, options: SingletonLeaseOptions): Promise<SingletonLease> {
    const lease = new SingletonLease(options.group, options.topic ?? COORDINATION_TOPIC, false);
    lease.#kafka = true;
    lease.#sessionTimeoutMs = options.sessionTimeoutMs;
    await lease.#subscribe(connector);
    lease.#timer = setInterval(() => void lease.#update(), Math.min(1000, options.sessionTimeoutMs / 4));
    return lease;
  }

  #sessionTimeoutMs = Infinity;
  #kafka = false;

  /** Joins the group; a membership that crashes (its partitions revoked first) is joined again after a second. */
  async #subscribe(connector: StreamConnector): Promise<void> {
    const isZero = (ps: TopicPartition[]) => ps.some((p) => p.topic === this.topic && p.partition === 0);
    const subscription = await connector.subscribe({
      group: this.group,
      topics: [this.topic],
      onBatch: () => {},
      onAssigned: (ps) => {
        if (!isZero(ps)) return;
        this.#assigned = true;
        return this.#update();
      },
      onRevoked: (ps) => {
        if (!isZero(ps)) return;
        this.#assigned = false;
        return this.#update(); // awaited before the coordinator reassigns: the singletons stop first
      },
    });
    this.#subscription = subscription;
    void subscription.ended.then(async (end) => {
      if (end.kind !== "crashed" || this.#closed) return;
      log.error("singleton lease: the membership of {group} crashed ({error}); joining again", {
        group: this.group,
        error: end.error.message,
      });
      this.#assigned = false;
      await this.#update();
      while (!this.#closed) {
        await new Promise((r) => setTimeout(r, 1000));
        if (this.#closed) return;
        try {
          await this.#subscribe(connector);
          return;
        } catch (error) {
          log.warn("singleton lease: joining {group} failed: {error}", {
            group: this.group,
            error: String(error),
          });
        }
      }
    });
  }

  /** Whether this node owns the lease (runs the singletons). */
  get owned(): boolean {
    return this.#owned;
  }

  /** When this node last acquired the lease (ms since the epoch), if it owns it. */
  get acquiredAt(): number | undefined {
    return this.#owned ? this.#acquiredAt : undefined;
  }

  isOpen(): boolean {
    return this.#owned;
  }

  closedReason(): string {
    return `standby: another node owns partition 0 of ${this.topic} in group ${this.group} and runs the ` +
      `singleton sources; this node takes over when that node leaves or its session times out`;
  }

  onChange(listener: () => Promise<void> | void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Why the lease cannot be decided, for readiness (undefined while the membership is consuming or on embedded).
   */
  problem(): string | undefined {
    const health = this.#subscription?.health();
    if (!health || health.state === "consuming") return undefined;
    return `singleton lease group ${this.group} is ${health.state}${
      health.reason ? `: ${health.reason}` : ""
    }`;
  }

  /** Stops the singletons (if owned) and leaves the group, so another node takes over at once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#assigned = false;
    await this.#update();
    await this.#subscription?.close();
  }

  async #update(): Promise<void> {
    const health = this.#subscription?.health();
    if (health && health.state !== "consuming") this.#unhealthySince ??= Date.now();
    else this.#unhealthySince = undefined;
    const cutOff = this.#unhealthySince !== undefined &&
      Date.now() - this.#unhealthySince >= this.#sessionTimeoutMs;
    const owned = this.#kafka ? this.#assigned && !cutOff && !this.#closed : !this.#closed;
    if (owned === this.#owned) return;
    this.#owned = owned;
    if (owned) this.#acquiredAt = Date.now();
    if (owned) {
      log.info("singleton lease acquired ({group}): starting the singleton sources", { group: this.group });
    } else if (cutOff) {
      log.warn(
        "singleton lease: the membership of {group} has not been consuming for {ms} ms; stopping the singleton " +
          "sources (another node may own them now)",
        { group: this.group, ms: this.#sessionTimeoutMs },
      );
    } else {log.info("singleton lease released ({group}): singleton sources on standby", {
        group: this.group,
      });}
    await Promise.all([...this.#listeners].map(async (l) => {
      try {
        await l();
      } catch (error) {
        log.error("singleton lease listener failed: {error}", { error: String(error) });
      }
    }));
  }
}
