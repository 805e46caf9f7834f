/**
 * The dispatcher's metric families, in the process registry (core/metrics.ts). In-flight batches per actor
 * are `actor_inflight_batches` (set by the actor handle); dead letters are `qistream_dead_letters_total`
 * (counted by the dead-letter helper).
 *
 * @module
 */
import { counter, gauge } from "../core/metrics.ts";

/** `dispatcher_commits_total{agent,topic}`: offset commits acknowledged by the connector. */
export const dispatcherCommits = () =>
  counter({
    name: "dispatcher_commits_total",
    help: "Offset commits of the contiguous acked prefix, acknowledged by the connector",
    labelNames: ["agent", "topic"],
  });

/** `dispatcher_redeliveries_total{agent,reason}`: batches sent again (reason `crash` or `retry`). */
export const dispatcherRedeliveries = () =>
  counter({
    name: "dispatcher_redeliveries_total",
    help: "Batches sent again to an actor (crash: unacked when the actor died; retry: after a failure)",
    labelNames: ["agent", "reason"],
  });

/**
 * `qistream_consumer_crashes_total{agent,group,error}`: consumer-group memberships that ended on an error their
 * client does not retry; `error` is the client's error class (e.g. `KafkaJSNotImplemented`). Each is restarted
 * by the agent's supervisor within its restart intensity.
 */
export const consumerCrashes = () =>
  counter({
    name: "qistream_consumer_crashes_total",
    help:
      "Consumer memberships that crashed on an error their client does not retry (restarted by the supervisor)",
    labelNames: ["agent", "group", "error"],
  });

/**
 * `dispatcher_decode_retries_total{agent,error_class}`: fetches handed back to the connector because decoding
 * failed retriably (the schema registry did not answer); the partition backs up instead of dead-lettering.
 */
export const dispatcherDecodeRetries = () =>
  counter({
    name: "dispatcher_decode_retries_total",
    help: "Fetches redelivered because decoding failed retriably (e.g. the schema registry did not answer)",
    labelNames: ["agent", "error_class"],
  });

/** `dispatcher_dead_letter_failures_total{agent,error_class}`: attempts to write a dead letter that failed. */
export const dispatcherDeadLetterFailures = () =>
  counter({
    name: "dispatcher_dead_letter_failures_total",
    help: "Attempts to write a dead letter that failed (retried while retriable, else the consumer stops)",
    labelNames: ["agent", "error_class"],
  });

/** `dispatcher_failed{agent}`: 1 once the consumer stopped because its dead-letter path is broken. */
export const dispatcherFailed = () =>
  gauge({
    name: "dispatcher_failed",
    help: "1 when the consumer stopped because it cannot write its dead-letter topic, else 0",
    labelNames: ["agent"],
  });
