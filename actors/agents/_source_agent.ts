/**
 * What the source agents share: the publishing part of their config (topics per record kind, dead-letter
 * topic, batching knobs), the host list their `net` grant is computed from, and {@linkcode SourceOutput},
 * which turns a source's `onRecord` / `onMalformed` callbacks into keyed, headed records on a
 * {@linkcode SourcePublisher}, and checkpoints the source's position (`ctx.sourceOffset`) once the records
 * before it are acknowledged.
 *
 * @module
 */
import { z } from "zod";
import type { AgentContext } from "../runtime/agent_context.ts";
import type { AgentTopics } from "../runtime/agent_spec.ts";
import type { AgentRecord } from "../runtime/agent_record.ts";
import type { MarketRecord, MarketRecordKind } from "../sources/market_record.ts";
import { DLQ_HEADERS } from "../../connector/dead_letter.ts";
import { SourcePublisher } from "./_source_publisher.ts";

/** Topics per record kind; a kind without a topic is dropped and counted. */
export const topicsSchema = z.object({
  tick: z.string().min(1).default("market.ticks").describe("Topic of ticks (quotes and prices)."),
  trade: z.string().min(1).optional().describe("Topic of trades; unset: trades are dropped and counted."),
  bar: z.string().min(1).optional().describe("Topic of bars; unset: bars are dropped and counted."),
}).prefault({});

/** Config fields every source agent has (spread them into its `z.object`). */
export const publishingFields = {
  topics: topicsSchema.describe('Where each record kind goes. Default `{ tick: "market.ticks" }`.'),
  deadLetterTopic: z.string().min(1).default("market.dead-letter").describe(
    "Where malformed upstream payloads go, as raw bytes.",
  ),
  batchSize: z.number().int().min(1).max(100_000).default(500).describe("Records per publish."),
  lingerMs: z.number().int().min(0).max(60_000).default(20).describe("Longest wait for a batch to fill, ms."),
  maxInFlight: z.number().int().min(1).max(1000).default(4).describe(
    "Publishes unacknowledged at once; the source waits beyond this.",
  ),
  maxBuffered: z.number().int().min(1).default(10_000).describe(
    "Records a push-based stream may have waiting before further ones are dropped (and counted).",
  ),
};

/**
 * The topics a source writes for a config (its spec's `topics`): each record kind's topic and the dead-letter
 * topic.
 *
 * @param config The validated publishing part of its config.
 * @returns `{ writes }`
 */
export function sourceTopics(config: PublishingConfig): AgentTopics {
  const { tick, trade, bar } = config.topics;
  return { writes: [tick, trade, bar, config.deadLetterTopic].filter((t): t is string => t !== undefined) };
}

/** The validated publishing part of a source agent's config. */
export interface PublishingConfig {
  topics: { tick: string; trade?: string | undefined; bar?: string | undefined };
  deadLetterTopic: string;
  batchSize: number;
  lingerMs: number;
  maxInFlight: number;
  maxBuffered: number;
}

/** Records dropped because no topic is configured for their kind, or a stream outran the buffer. */
export const RECORDS_DROPPED = "source_records_dropped_total";
/** Records acknowledged by the log, by topic. */
export const RECORDS_PUBLISHED = "source_records_published_total";
/** Malformed payloads published to the dead-letter topic, by upstream. */
export const DEAD_LETTERS = "source_dead_letters_total";

/**
 * The `host:port` a Deno `net` permission needs for a URL (the scheme's default port when none is given).
 *
 * @param url an http(s) or ws(s) URL
 * @returns e.g. `min-api.cryptocompare.com:443`, `127.0.0.1:8080`
 * @throws {TypeError} when the URL cannot be parsed or its scheme is not http, https, ws or wss
 */
export function netHost(url: string): string {
  const u = new URL(url);
  const defaults: Record<string, string> = { "http:": "80", "ws:": "80", "https:": "443", "wss:": "443" };
  const fallback = defaults[u.protocol];
  if (fallback === undefined) {
    throw new TypeError(`Cannot grant network access to ${url}: scheme must be http, https, ws or wss`);
  }
  return `${u.hostname}:${u.port || fallback}`;
}

/**
 * A source agent's output: records keyed by symbol with `correlation-id` and `source` headers, routed to the
 * topic of their kind; malformed payloads to the dead-letter topic as raw bytes with `dlq.*` headers.
 * {@linkcode SourceOutput.signal} aborts when the actor stops or a publish failed, so a source given it stops.
 */
export class SourceOutput {
  /** Aborts on stop (`ctx.signal`) or when a publish failed. */
  readonly signal: AbortSignal;
  readonly publisher: SourcePublisher;
  readonly #ctx: AgentContext<unknown>;
  readonly #config: PublishingConfig;
  readonly #source: string;
  readonly #failed = new AbortController();
  readonly #warnedKinds = new Set<MarketRecordKind>();
  #overflowWarned = false;

  /**
   * @param ctx the agent's context (publish, metrics, log, signal, actorId)
   * @param config the validated publishing config
   * @param source the `source` header and metric label, e.g. `cryptocompare`
   */
  constructor(ctx: AgentContext<unknown>, config: PublishingConfig, source: string) {
    this.#ctx = ctx;
    this.#config = config;
    this.#source = source;
    this.signal = AbortSignal.any([ctx.signal, this.#failed.signal]);
    this.publisher = new SourcePublisher({
      publish: (topic, records) => ctx.publish(topic, records),
      batchSize: config.batchSize,
      lingerMs: config.lingerMs,
      maxInFlight: config.maxInFlight,
      maxBuffered: Math.max(config.maxBuffered, config.batchSize),
      onPublished: (topic, count) => ctx.metrics.inc(RECORDS_PUBLISHED, { source, topic }, count),
      onCheckpoint: (position) => ctx.sourceOffset?.commit(position),
      onError: (e) => {
        ctx.log.error("publishing failed: {error}", { error: String(e) });
        this.#failed.abort(e);
      },
    });
  }

  /** The position the source saved last (on any node), or `undefined` on a first start. */
  get storedPosition(): unknown {
    return this.#ctx.sourceOffset?.stored;
  }

  /**
   * Queues a record and waits while the publisher is saturated (for pull-based sources).
   *
   * @param record the source's record
   * @param correlationId the upstream message's id; default a fresh UUID
   * @param position the source's position after this record, checkpointed once it is acknowledged
   * @throws the error of a failed publish
   */
  async record(
    record: MarketRecord,
    correlationId: string = crypto.randomUUID(),
    position?: unknown,
  ): Promise<void> {
    const out = this.#route(record, correlationId);
    if (out) await this.publisher.add(out[0], out[1], position);
    else if (position !== undefined) this.publisher.mark(position);
  }

  /**
   * Checkpoints a position that has no record of its own (a skipped line, the end of a file, a backfill
   * that found nothing new), once every record queued before it is acknowledged.
   *
   * @param position the source's position
   */
  checkpoint(position: unknown): void {
    this.publisher.mark(position);
  }

  /**
   * Queues a record without waiting (for push-based streams); drops and counts it when the buffer is full.
   * A failed publish aborts {@linkcode SourceOutput.signal} instead of throwing into the stream.
   *
   * @param record the source's record
   * @param correlationId the upstream message's id; default a fresh UUID
   * @param position the source's position after this record, checkpointed once it is acknowledged
   */
  push(record: MarketRecord, correlationId: string = crypto.randomUUID(), position?: unknown): void {
    const out = this.#route(record, correlationId);
    if (out) this.#offer(out[0], out[1], record.kind, position);
    else if (position !== undefined) this.publisher.mark(position);
  }

  /**
   * Sends a malformed upstream payload to the dead-letter topic: the raw text (or JSON) as bytes, with
   * `dlq.stage` = `source`, the error's class and message, this actor as `dlq.agent` and `upstream` as
   * `dlq.source.topic`.
   *
   * @param upstream where it came from, e.g. `cryptocompare.ws`
   * @param raw the payload as received (text, or parsed JSON)
   * @param error why it was refused
   * @param position the source's position after this payload, checkpointed once it is acknowledged
   */
  malformed(upstream: string, raw: unknown, error: Error, position?: unknown): void {
    const text = typeof raw === "string" ? raw : safeJson(raw);
    this.#ctx.metrics.inc(DEAD_LETTERS, { source: this.#source, upstream });
    this.#offer(
      this.#config.deadLetterTopic,
      {
        key: null,
        value: new TextEncoder().encode(text),
        headers: {
          "correlation-id": crypto.randomUUID(),
          source: this.#source,
          [DLQ_HEADERS.stage]: "source",
          [DLQ_HEADERS.errorClass]: error.name,
          [DLQ_HEADERS.errorMessage]: error.message.slice(0, 4096),
          [DLQ_HEADERS.agent]: this.#ctx.actorId,
          [DLQ_HEADERS.sourceTopic]: upstream,
          [DLQ_HEADERS.attempts]: "1",
        },
      },
      "dead_letter",
      position,
    );
  }

  /**
   * Runs the source body, then publishes what is pending and waits for it to be acknowledged.
   *
   * @param body the source loop; given {@linkcode SourceOutput.signal}
   * @returns resolves when the body ended (normally or because the actor stops) and everything is published
   * @throws the body's error (e.g. a refused API key), or the error of a failed publish
   */
  async run(body: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    let failure: unknown;
    try {
      await body(this.signal);
    } catch (e) {
      failure = e;
    }
    try {
      await this.publisher.flush();
    } catch (e) {
      failure ??= e;
    }
    if (failure !== undefined && !(this.#ctx.signal.aborted && isAbort(failure))) throw failure;
  }

  #route(record: MarketRecord, correlationId: string): [string, AgentRecord] | undefined {
    const topic = this.#config.topics[record.kind];
    if (topic === undefined) {
      this.#ctx.metrics.inc(RECORDS_DROPPED, { source: this.#source, kind: record.kind, reason: "no_topic" });
      if (!this.#warnedKinds.has(record.kind)) {
        this.#warnedKinds.add(record.kind);
        this.#ctx.log.warn("no topic configured for {kind} records (topics.{kind}); dropping them", {
          kind: record.kind,
        });
      }
      return undefined;
    }
    return [topic, {
      key: record.value.symbol,
      value: record.value,
      headers: { "correlation-id": correlationId, source: this.#source },
    }];
  }

  #offer(topic: string, record: AgentRecord, kind: string, position?: unknown): void {
    try {
      if (this.publisher.offer(topic, record, position)) return;
      this.#ctx.metrics.inc(RECORDS_DROPPED, { source: this.#source, kind, reason: "overflow" });
      if (!this.#overflowWarned) {
        this.#overflowWarned = true;
        this.#ctx.log.warn("publishing cannot keep up: {buffered} records waiting; dropping new ones", {
          buffered: this.publisher.buffered,
        });
      }
    } catch {
      // a publish failed: onError aborted `signal`, and `run` rethrows the error after the source stops
    }
  }
}

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
