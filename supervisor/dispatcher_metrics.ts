/**
 * The dispatcher's metric families, in the process registry (core/metrics.ts). In-flight batches per actor
 * are `actor_inflight_batches` (set by the actor handle); dead letters are `qistream_dead_letters_total`
 * (counted by the dead-letter helper).
 *
 * @module
 */
import { counter } from "../core/metrics.ts";

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
