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
 * `dispatcher_decode_retries_total{agent,error_class}`: fetches handed back to the connector because decoding
 * failed retriably (the schema registry did not answer); the partition backs up instead of dead-lettering.
 */
export const dispatcherDecodeRetries = () =>
  counter({
    name: "dispatcher_decode_retries_total",
    help: "Fetches redelivered because decoding failed retriably (e.g. the schema registry did not answer)",
    labelNames: ["agent", "error_class"],
  });
