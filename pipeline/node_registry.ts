/**
 * The node registry: each node publishes a heartbeat — its id, address, version, what it runs (agents with their
 * role and state, a consumer's partitions, the singletons it owns or waits for) — to a compacted topic (default
 * `qistream.nodes`, keyed by node id), and reads every node's last heartbeat back from it. A node that has not
 * heartbeated for `lostAfterMs` (3 intervals by default) is shown as `lost`; one that stopped cleanly published a
 * last heartbeat saying `stopped`. Only nodes of this pipeline (the same `node.name`) are listed, and none silent
 * for more than an hour. `/api/cluster` and the `supervision.cluster` tool serve {@linkcode NodeRegistry.view}.
 *
 * @module
 */
import type { StreamConnector, Subscription } from "../connector/types.ts";
import { getLogger } from "../core/log.ts";

/** The default registry topic (compacted, one partition). */
export const NODES_TOPIC = "qistream.nodes";

/** What one agent is doing on a node. */
export interface NodeAgent {
  agent: string;
  kind: string;
  role: "source" | "consumer";
  /** `running`, `standby` (a singleton another node runs), or the tree's state (`restarting`, `stopped`, ...). */
  state: string;
  instances: number;
  singleton: boolean;
  /** A consumer's partitions owned by this node, as `topic:partition`. */
  partitions?: string[];
}

/** One heartbeat. */
export interface NodeHeartbeat {
  id: string;
  name: string;
  host: string;
  pid: number;
  /** The node's HTTP address (`/readyz`, `/api`, `/mcp`). */
  address: string;
  version: string;
  log: string;
  startedAt: string;
  /** When this heartbeat was sent. */
  at: string;
  /** `running`, or `stopped` in the last heartbeat of a clean stop. */
  state: "running" | "stopped";
  /** Whether this node owns the singleton lease. */
  singletonOwner: boolean;
  agents: NodeAgent[];
}

/** A node as the registry shows it. */
export interface ClusterNode extends NodeHeartbeat {
  /** `live` (heartbeating), `lost` (silent past `lostAfterMs`) or `stopped` (left cleanly). */
  status: "live" | "lost" | "stopped";
  /** Ms since its last heartbeat. */
  silentMs: number;
}

/** The cluster as one node sees it. */
export interface ClusterView {
  /** This node's id. */
  self: string;
  heartbeatMs: number;
  lostAfterMs: number;
  nodes: ClusterNode[];
  /** Per singleton agent: the live node that runs it, if any. */
  singletons: Record<string, string | null>;
}

/** Options of {@linkcode NodeRegistry.start}. */
export interface NodeRegistryOptions {
  /** The node's connector; absent (the embedded log: one node) the registry holds this node only. */
  connector?: StreamConnector;
  /** Default {@linkcode NODES_TOPIC}. */
  topic?: string;
  heartbeatMs: number;
  /** Default 3 × heartbeatMs. */
  lostAfterMs?: number;
  /** This node's heartbeat without `at` and `state` (called at each beat, so it shows the live state). */
  describe(): Omit<NodeHeartbeat, "at" | "state">;
}

const log = getLogger("pipeline");

/** Nodes silent for longer than this (lost or stopped an hour ago) are no longer listed. */
export const FORGET_AFTER_MS = 3_600_000;

/** Publishes this node's heartbeats and keeps the last heartbeat of every node. */
export class NodeRegistry {
  readonly #options: NodeRegistryOptions;
  readonly #topic: string;
  readonly #nodes = new Map<string, { beat: NodeHeartbeat; seenAt: number }>();
  #subscription: Subscription | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #self = "";
  #name = "";

  private constructor(options: NodeRegistryOptions) {
    this.#options = options;
    this.#topic = options.topic ?? NODES_TOPIC;
  }

  /**
   * Reads the registry topic from its beginning (a group of this node's own, never committed) and heartbeats.
   *
   * @param options connector, topic, interval, the node's description
   * @returns the running registry
   */
  static async start(options: NodeRegistryOptions): Promise<NodeRegistry> {
    const registry = new NodeRegistry(options);
    const self = options.describe();
    registry.#self = self.id;
    registry.#name = self.name;
    registry.#subscription = await options.connector?.subscribe({
      group: `qistream.nodes-reader-${crypto.randomUUID()}`,
      topics: [registry.#topic],
      fromBeginning: true,
      onBatch: (batch) => {
        for (const r of batch.records) registry.#receive(r.key, r.value, r.timestamp);
      },
    });
    await registry.#beat("running");
    registry.#timer = setInterval(() => void registry.#beat("running"), options.heartbeatMs);
    return registry;
  }

  /** The cluster: every node heard of, newest first by id, with its status; the singletons' owners. */
  view(): ClusterView {
    const now = Date.now();
    const lostAfterMs = this.#lostAfterMs;
    const nodes = [...this.#nodes.values()].filter(({ beat, seenAt }) =>
      now - Math.max(seenAt, Date.parse(beat.at) || 0) <= FORGET_AFTER_MS
    ).map(({ beat, seenAt }): ClusterNode => {
      const silentMs = Math.max(0, now - Math.max(seenAt, Date.parse(beat.at) || 0));
      const status = beat.state === "stopped" ? "stopped" : silentMs > lostAfterMs ? "lost" : "live";
      return { ...beat, status, silentMs };
    }).sort((a, b) => a.id.localeCompare(b.id));
    const singletons: Record<string, string | null> = {};
    for (const n of nodes) {
      for (const a of n.agents) {
        if (!a.singleton) continue;
        singletons[a.agent] ??= null;
        if (n.status === "live" && a.state !== "standby") singletons[a.agent] = n.id;
      }
    }
    return { self: this.#self, heartbeatMs: this.#options.heartbeatMs, lostAfterMs, nodes, singletons };
  }

  /** Publishes a last `stopped` heartbeat and stops reading. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    try {
      await this.#beat("stopped");
    } catch { /* logged by #beat */ }
    await this.#subscription?.close();
  }

  get #lostAfterMs(): number {
    return this.#options.lostAfterMs ?? 3 * this.#options.heartbeatMs;
  }

  async #beat(state: NodeHeartbeat["state"]): Promise<void> {
    const described = this.#options.describe();
    const beat: NodeHeartbeat = state === "running"
      ? { ...described, at: new Date().toISOString(), state }
      : {
        ...described,
        at: new Date().toISOString(),
        state,
        singletonOwner: false,
        agents: described.agents.map(({ partitions: _, ...a }) => ({ ...a, state: "stopped" })),
      };
    this.#nodes.set(beat.id, { beat, seenAt: Date.now() });
    if (!this.#options.connector) return;
    try {
      await this.#options.connector.publish(this.#topic, [{
        key: beat.id,
        value: new TextEncoder().encode(JSON.stringify(beat)),
        headers: { "content-type": "application/json" },
      }]);
    } catch (error) {
      log.warn("node registry: heartbeat to {topic} failed: {error}", {
        topic: this.#topic,
        error: String(error),
      });
    }
  }

  #receive(key: Uint8Array | null, value: Uint8Array | null, timestamp: number): void {
    if (key === null) return;
    const id = new TextDecoder().decode(key);
    if (value === null) {
      this.#nodes.delete(id);
      return;
    }
    try {
      const beat = JSON.parse(new TextDecoder().decode(value)) as NodeHeartbeat;
      if (id === this.#self) return; // our own state is the live one
      if (beat.name !== this.#name) return; // a node of another pipeline on the same brokers
      const seenAt = Math.min(Date.now(), timestamp);
      const known = this.#nodes.get(id);
      if (!known || Date.parse(beat.at) >= Date.parse(known.beat.at)) this.#nodes.set(id, { beat, seenAt });
    } catch (error) {
      log.warn("node registry: ignoring an unreadable heartbeat of {id}: {error}", {
        id,
        error: String(error),
      });
    }
  }
}
