/**
 * The error pending sends reject with when their actor exits before acking them.
 *
 * @module
 */
import type { AgentBatch } from "../actors/runtime/agent_batch.ts";

/** The actor stopped or crashed before acking `batch`; redeliver it to the next incarnation. */
export class ActorExitedError extends Error {
  readonly actor: string;
  /** The unacked batch, for redelivery. */
  readonly batch: AgentBatch;
  /** Redelivery is always safe: the batch was never acked. */
  readonly retriable = true;

  /**
   * @param actor Actor path.
   * @param batch The unacked batch.
   * @param why What ended the actor.
   */
  constructor(actor: string, batch: AgentBatch, why: string, options?: ErrorOptions) {
    super(`actor ${actor} exited (${why}) before acking batch ${batch.id}`, options);
    this.name = "ActorExitedError";
    this.actor = actor;
    this.batch = batch;
  }
}
