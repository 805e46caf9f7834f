/**
 * The error a consumer fails with when it cannot write a record to its dead-letter topic.
 *
 * @module
 */

/**
 * A dead letter could not be written: the topic is missing, the producer is not allowed to write it, the dead
 * letter is too large even truncated, or the log kept failing past the dispatcher's `deadLetterTimeoutMs`.
 * The consumer stops (as a Kafka Connect task fails when its dead-letter queue cannot be written): its
 * partitions stay committed up to the record before, so nothing is lost and nothing is skipped.
 */
export class DeadLetterFailedError extends Error {
  override name = "DeadLetterFailedError";
  /** Retrying the same write does not help; an operator must fix the topic, its ACLs or its size limit. */
  readonly retriable = false;
  readonly agent: string;
  readonly deadLetterTopic: string;
  /** Where the record that could not be dead-lettered is: `topic`, `partition`, `offset`. */
  readonly source: { topic: string; partition: number; offset: string };

  constructor(
    agent: string,
    deadLetterTopic: string,
    source: { topic: string; partition: number; offset: string },
    options: { cause?: unknown; attempts?: number } = {},
  ) {
    const why = options.cause instanceof Error ? `${options.cause.name}: ${options.cause.message}` : "";
    const tries = options.attempts && options.attempts > 1 ? ` after ${options.attempts} attempts` : "";
    super(
      `${agent} cannot write the dead letter of ${source.topic}[${source.partition}]@${source.offset} to ` +
        `"${deadLetterTopic}"${tries}${why ? `: ${why}` : ""}`,
      { cause: options.cause },
    );
    this.agent = agent;
    this.deadLetterTopic = deadLetterTopic;
    this.source = source;
  }
}
