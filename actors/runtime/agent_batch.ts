/**
 * The unit of work an actor receives.
 *
 * @module
 */
import type { DeliveredRecord } from "./agent_record.ts";

/** A batch of records handed to `receive()`; acked or failed as a whole. */
export interface AgentBatch {
  /** Unique per batch within an actor; the dispatcher uses it to match acks. */
  id: string;
  /** Carried into logs and tool calls; defaults to the first record's `correlation-id` header. */
  correlationId?: string;
  records: DeliveredRecord[];
}
