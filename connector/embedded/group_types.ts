/**
 * Contracts between the embedded consumer groups and the connector that hosts them, and small shared helpers.
 *
 * @module
 */

import type { ConnectorStatus, PartitionBatch } from "../types.ts";
import type { PartitionLog } from "./partition_log.ts";

/** What a group needs from the connector that owns it. */
export interface GroupHost {
  /** The partition's log, or `undefined` if the topic or partition no longer exists. */
  partitionLog(topic: string, partition: number): PartitionLog | undefined;
  /** Partition count of a topic, or 0 if it does not exist. */
  partitionCount(topic: string): number;
  /** Committed position (next offset to read) of a group, if any. */
  committed(group: string, topic: string, partition: number): number | undefined;
  /** Stores a committed position durably. */
  commit(group: string, topic: string, partition: number, next: number): Promise<void>;
}

/** Where a member reports: the connector that subscribed it (several connectors may share one log). */
export interface MemberSink {
  emit(status: ConnectorStatus): void;
  /** Called after a batch was handed to `onBatch` successfully (metrics). */
  delivered(group: string, batch: PartitionBatch): void;
  readonly settings: GroupSettings;
}

/** Delivery tuning shared by all groups. */
export interface GroupSettings {
  maxBatchRecords: number;
  maxBatchBytes: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  rebalanceTimeoutMs: number;
}

/** Map key of a topic partition. */
export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Splits a {@link partitionKey} back into topic and partition. */
export function parsePartitionKey(key: string): { topic: string; partition: number } {
  const i = key.indexOf("\u0000");
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

/** Normalises a thrown value to an `Error`. */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
