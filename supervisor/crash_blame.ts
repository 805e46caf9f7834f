/**
 * Which crashes are blamed on the batch the Worker was running. A batch that fails or crashes its Worker
 * costs that batch one of its tries (see `poison_policy.ts`), so that a poison record is isolated and
 * dead-lettered; a failure the environment caused must cost nothing, or innocent records would be split off
 * and dead-lettered while memory or file descriptors ran out.
 *
 * As in Kafka Streams (a record-level exception goes to the exception handler; an `Error` such as
 * `OutOfMemoryError` kills the stream thread and skips nothing) and Akka (fatal errors are not handled by the
 * decider but escalated): an environment failure only restarts the actor, within its supervisor's restart
 * intensity, and escalates when it persists. Its batches are redelivered as they were.
 *
 * @module
 */

/** The part of an error the classification reads. */
export interface FailureDescription {
  name: string;
  message: string;
}

/** Messages of failures of the process's environment: memory and file-descriptor exhaustion. */
const ENVIRONMENT = [
  /array buffer allocation failed/i, // V8: the allocator refused (out of memory)
  /\bout of memory\b/i,
  /\bENOMEM\b|cannot allocate memory/i,
  /\bE[N]?MFILE\b|too many open files/i,
];

/**
 * Whether a failure was caused by the environment rather than by what the actor was processing.
 *
 * @param error The failure as the Worker reported it.
 * @returns true for memory and file-descriptor exhaustion.
 * @example
 * ```ts
 * isEnvironmentFailure({ name: "RangeError", message: "Array buffer allocation failed" }); // true
 * isEnvironmentFailure({ name: "RangeError", message: "poison record at offset 7" }); // false
 * ```
 */
export function isEnvironmentFailure(error: FailureDescription): boolean {
  const text = `${error.name}: ${error.message}`;
  return ENVIRONMENT.some((re) => re.test(text));
}
