/**
 * The node's side of the lifecycle commands ({@linkcode LifecycleControl}): pause and resume a consuming
 * agent's dispatcher (the membership stays, fetching stops), stop and start an agent's supervisor in the root,
 * restart an agent or one actor.
 *
 * - **Desired state survives restarts.** Paused and stopped agents are kept in `<dataDir>/lifecycle.json`
 *   (replaced atomically); a starting node reads it first, so a paused agent's dispatcher starts paused and a
 *   stopped agent is not started at all. It is per node, as the data dir is: on Kafka, each node of a group
 *   is paused on its own (pause every node to pause the group).
 * - **Idempotent.** A command that finds the agent in the asked state changes nothing and says so.
 * - **Audited.** Each transition is logged (`lifecycle`) and published as a JSON record, keyed by agent, to the
 *   audit topic: `{at, node, by, command, agent, actor?, from, to}`.
 *
 * @module
 */
import { join } from "node:path";
import { JsonFileStore } from "../connector/embedded/json_file_store.ts";
import type { StreamConnector } from "../connector/types.ts";
import { getLogger } from "../core/log.ts";
import { ActorHandle, type Dispatcher, type PauseInfo, Supervisor } from "../supervisor/mod.ts";
import type { AgentLifecycle, DesiredState, LifecycleControl } from "../tools/mod.ts";

/** File name of the desired states inside the data directory. */
export const LIFECYCLE_FILE = "lifecycle.json";

/** One agent's kept desired state (running agents are absent). */
export interface KeptState {
  state: "paused" | "stopped";
  by: string;
  at: string;
}

/** One record of the audit topic. */
export interface LifecycleAuditRecord {
  at: string;
  node: string;
  by: string;
  command: string;
  agent: string;
  actor?: string;
  from: DesiredState;
  to: DesiredState;
}

/** An agent as the lifecycle sees it. */
export interface LifecycleAgent {
  id: string;
  role: "source" | "consumer";
  instances: string[];
  dispatcher?: Dispatcher;
}

const log = getLogger("lifecycle");

/** The lifecycle of one node's agents. Open it before building the tree ({@linkcode kept}), then bind it. */
export class NodeLifecycle implements LifecycleControl {
  #store: JsonFileStore<{ agents: Record<string, KeptState> }>;
  #agents = new Map<string, LifecycleAgent>();
  #root: () => Supervisor | undefined = () => undefined;
  #node: string;
  #connector: StreamConnector | undefined;
  #auditTopic: string | undefined;
  #ops: Promise<unknown> = Promise.resolve();

  private constructor(store: JsonFileStore<{ agents: Record<string, KeptState> }>, node: string) {
    this.#store = store;
    this.#node = node;
  }

  /**
   * Reads the kept desired states of a data directory.
   *
   * @param dataDir The node's data directory.
   * @param node The node's name, for the audit records.
   */
  static async open(dataDir: string, node: string): Promise<NodeLifecycle> {
    await Deno.mkdir(dataDir, { recursive: true });
    const store = await JsonFileStore.open(join(dataDir, LIFECYCLE_FILE), {
      agents: {} as Record<string, KeptState>,
    });
    store.data.agents ??= {};
    return new NodeLifecycle(store, node);
  }

  /** The kept desired state of an agent, if it is not `running`. */
  kept(agent: string): KeptState | undefined {
    return this.#store.data.agents[agent];
  }

  /** The pause to start a consuming agent's dispatcher with, if it was left paused. */
  pausedAtStart(agent: string): PauseInfo | undefined {
    const kept = this.kept(agent);
    return kept?.state === "paused" ? { by: kept.by, at: kept.at } : undefined;
  }

  /** Agent ids left stopped (not started by the root). */
  stoppedAtStart(): string[] {
    return Object.entries(this.#store.data.agents).filter(([, k]) => k.state === "stopped").map(([id]) => id);
  }

  /** Connects the lifecycle to the running tree and the audit topic. */
  bind(options: {
    agents: LifecycleAgent[];
    root: () => Supervisor | undefined;
    connector: StreamConnector;
    auditTopic: string;
  }): void {
    for (const a of options.agents) this.#agents.set(a.id, a);
    this.#root = options.root;
    this.#connector = options.connector;
    this.#auditTopic = options.auditTopic;
    for (const id of Object.keys(this.#store.data.agents)) {
      if (!this.#agents.has(id)) {
        log.warn("lifecycle.json names agent {agent}, which this node does not run", { agent: id });
      }
    }
  }

  /**
   * What a readiness check of the agent says besides its health: a passing `detail` when an operator paused or
   * stopped it (a choice, not a fault), else undefined.
   */
  readinessDetail(agent: string): string | undefined {
    const kept = this.kept(agent);
    if (!kept) return undefined;
    return `${kept.state} by ${kept.by} at ${kept.at} (an operator's choice, not a fault; ` +
      `${kept.state === "paused" ? "resume" : "start"} it to let data flow)`;
  }

  agents(): AgentLifecycle[] {
    return [...this.#agents.values()].map((a) => this.#state(a));
  }

  pause(agent: string, by: string): Promise<AgentLifecycle> {
    return this.#serial(async () => {
      const a = this.#agent(agent);
      if (!a.dispatcher) {
        throw new RangeError(
          `Cannot pause ${agent}: it is a source and has no consumer group to pause (stop it instead)`,
        );
      }
      const from = this.#desired(agent);
      if (from === "stopped") throw new RangeError(`Cannot pause ${agent}: it is stopped (start it first)`);
      if (from === "paused") return this.#state(a);
      const info = a.dispatcher.pause(by);
      await this.#keep(agent, { state: "paused", by: info.by, at: info.at });
      await this.#audit({ by, command: "pause", agent, from, to: "paused" });
      return this.#state(a);
    });
  }

  resume(agent: string, by: string): Promise<AgentLifecycle> {
    return this.#serial(async () => {
      const a = this.#agent(agent);
      const from = this.#desired(agent);
      if (from === "stopped") throw new RangeError(`Cannot resume ${agent}: it is stopped (start it)`);
      if (from !== "paused") return this.#state(a);
      a.dispatcher?.resume();
      await this.#keep(agent, undefined);
      await this.#audit({ by, command: "resume", agent, from, to: "running" });
      return this.#state(a);
    });
  }

  stop(agent: string, by: string): Promise<AgentLifecycle> {
    return this.#serial(async () => {
      const a = this.#agent(agent);
      const from = this.#desired(agent);
      if (from === "stopped") return this.#state(a);
      await this.#keep(agent, { state: "stopped", by, at: new Date().toISOString() });
      await this.#rootOrThrow().terminateChild(agent);
      a.dispatcher?.resume(); // a start comes back running
      await this.#audit({ by, command: "stop", agent, from, to: "stopped" });
      return this.#state(a);
    });
  }

  start(agent: string, by: string): Promise<AgentLifecycle> {
    return this.#serial(async () => {
      const a = this.#agent(agent);
      const from = this.#desired(agent);
      if (from !== "stopped") return this.#state(a);
      await this.#rootOrThrow().restartChild(agent);
      await this.#keep(agent, undefined);
      await this.#audit({ by, command: "start", agent, from, to: "running" });
      return this.#state(a);
    });
  }

  restart(agent: string, by: string): Promise<AgentLifecycle> {
    return this.#serial(async () => {
      const a = this.#agent(agent);
      const from = this.#desired(agent);
      if (from === "stopped") throw new RangeError(`Cannot restart ${agent}: it is stopped (start it)`);
      const root = this.#rootOrThrow();
      await root.terminateChild(agent);
      await root.restartChild(agent);
      await this.#audit({ by, command: "restart", agent, from, to: from });
      return this.#state(a);
    });
  }

  restartActor(actor: string, by: string): Promise<AgentLifecycle> {
    return this.#serial(async () => {
      const a = [...this.#agents.values()].find((x) => x.instances.includes(actor));
      if (!a) throw new RangeError(`No actor "${actor}" (actors: ${this.#allActors().join(", ")})`);
      const from = this.#desired(a.id);
      if (from === "stopped") throw new RangeError(`Cannot restart ${actor}: agent ${a.id} is stopped`);
      const handle = a.dispatcher?.handle(actor) ?? this.#actorHandle(a.id, actor);
      if (!handle) {
        throw new RangeError(`Cannot restart ${actor}: it is not running (its supervisor restarts it)`);
      }
      handle.kill();
      await handle.exited;
      await this.#audit({ by, command: "restart_actor", agent: a.id, actor, from, to: from });
      return this.#state(a);
    });
  }

  #actorHandle(agent: string, actor: string): ActorHandle | undefined {
    const sup = this.#root()?.child(agent);
    const child = sup instanceof Supervisor ? sup.child(actor) : undefined;
    return child instanceof ActorHandle ? child : undefined;
  }

  #allActors(): string[] {
    return [...this.#agents.values()].flatMap((a) => a.instances);
  }

  #agent(id: string): LifecycleAgent {
    const a = this.#agents.get(id);
    if (!a) {
      throw new RangeError(`No agent "${id}" (agents: ${[...this.#agents.keys()].join(", ") || "none"})`);
    }
    return a;
  }

  #rootOrThrow(): Supervisor {
    const root = this.#root();
    if (!root) throw new Error("Cannot change an agent's lifecycle: the tree is not running");
    return root;
  }

  #desired(agent: string): DesiredState {
    return this.kept(agent)?.state ?? "running";
  }

  #state(a: LifecycleAgent): AgentLifecycle {
    const kept = this.kept(a.id);
    const node = this.#root()?.snapshot().children.find((c) => c.id === a.id);
    const treeState = !node || node.type === "pending" ? "stopped" : node.state;
    return {
      agent: a.id,
      role: a.role,
      desired: kept?.state ?? "running",
      state: treeState === "running" && a.dispatcher?.paused ? "paused" : treeState,
      ...(kept ? { by: kept.by, at: kept.at } : {}),
      instances: [...a.instances],
    };
  }

  async #keep(agent: string, state: KeptState | undefined): Promise<void> {
    if (state) this.#store.data.agents[agent] = state;
    else delete this.#store.data.agents[agent];
    await this.#store.save();
  }

  async #audit(entry: Omit<LifecycleAuditRecord, "at" | "node">): Promise<void> {
    const record: LifecycleAuditRecord = { at: new Date().toISOString(), node: this.#node, ...entry };
    log.info("{by} {command} {agent}: {from} -> {to}", { ...record });
    if (!this.#connector || !this.#auditTopic) return;
    try {
      await this.#connector.publish(this.#auditTopic, [{
        key: entry.agent,
        value: new TextEncoder().encode(JSON.stringify(record)),
        headers: { "content-type": "application/json", "audit-kind": "lifecycle" },
      }]);
    } catch (error) {
      // The transition happened; the audit record is the one thing lost, and the log says so.
      log.error("could not publish the audit record of {command} {agent} to {topic}: {error}", {
        ...record,
        topic: this.#auditTopic,
        error,
      });
    }
  }

  /** Runs commands one at a time, so two operators' commands never interleave. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#ops.then(op, op);
    this.#ops = run.catch(() => {});
    return run;
  }
}
