/**
 * Where source agents keep their position (Kafka Connect's offset storage): the replay file's line, the REST
 * backfill's last timestamp, the websocket stream's last sequence — one JSON document per agent, written after
 * the records it covers were acknowledged by the log, read when the agent (re)starts.
 *
 * Two implementations: {@linkcode TopicOffsetStore} (a compacted topic, on Kafka — any node can resume what another
 * node published) and {@linkcode FileOffsetStore} (one file in the data directory, on the embedded log).
 *
 * @module
 */

/** A source's position: any JSON value the source understands (its own shape, e.g. `{ path, line }`). */
export type SourcePosition = unknown;

/** Loads and saves the positions of source agents, keyed by agent id. */
export interface SourceOffsetStore {
  /** What the store is, for logs (e.g. `topic qistream.source-offsets`). */
  readonly where: string;
  /**
   * The last position saved for `agent`, or `undefined` when there is none.
   *
   * @throws when the store cannot be read (a start failure of the actor: retried by its supervisor)
   */
  load(agent: string): Promise<SourcePosition | undefined>;
  /**
   * Saves `agent`'s position durably; resolves once it is. Saves of one agent are applied in call order.
   *
   * @throws when the write failed
   */
  save(agent: string, position: SourcePosition): Promise<void>;
  /** Forgets `agent`'s position (the next start begins afresh). */
  reset(agent: string): Promise<void>;
}
