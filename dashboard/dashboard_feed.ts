/**
 * What the dashboard shows, as one stream of Server-Sent Events: every `intervalMs` a `state` event (the
 * supervision tree, the agents' lifecycle states, lag per partition in records and seconds, throughput per
 * agent), and the records of the stream a person looks at — prices (sampled per symbol), alerts, insights and
 * dead letters (with their `dlq.*` headers) — each as its own event.
 *
 * - **Through the connector.** The topics are tailed with consumer groups of their own that never commit (as
 *   `readTopicToEnd` does), so the dashboard works on Kafka and the embedded log alike and moves no group that
 *   matters. Alerts, insights and dead letters are read from the beginning and the last `keep` kept; prices from
 *   the end.
 * - **Resume, not reload.** Record events carry ids `<boot>.<seq>`; a client that reconnects with
 *   `Last-Event-ID` from this boot gets only what it missed (from what is kept), then live events. A client of
 *   an earlier boot, or one too far behind, gets a `reset` event first and everything kept.
 * - **Bounded.** At most `keep` records of each kind, and one price per symbol per `priceSampleMs` (sampled by
 *   record key before decoding, so the feed decodes a few ticks a second whatever the rate).
 *
 * @module
 */
import { summarizeDeadLetter } from "../connector/dead_letter_record.ts";
import type { ConsumedRecord, StreamConnector, Subscription } from "../connector/types.ts";
import { getLogger } from "../core/log.ts";

/** The kinds of record events. */
export type RecordKind = "price" | "alert" | "insight" | "deadletter";

/** One event of the feed. */
export interface FeedEvent {
  /** `<boot>.<seq>`; absent for `state` events (a reconnect gets the newest state anyway). */
  id?: string;
  type: "state" | "reset" | RecordKind;
  data: unknown;
}

/** Options of {@linkcode DashboardFeed}. */
export interface DashboardFeedOptions {
  connector: StreamConnector;
  /** Decodes a record's value (Confluent-framed Avro); a failure shows the record undecoded. */
  decode(value: Uint8Array): Promise<unknown>;
  /** The live state sent every interval. */
  state(): unknown;
  /** Topics to tail per kind; a kind with no topic shows nothing. */
  topics: { prices: string[]; alerts: string[]; insights: string[]; deadLetters: string[] };
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Records kept per kind (default 300). */
  keep?: number;
  /** At most one price per symbol this often (default 200 ms). */
  priceSampleMs?: number;
}

const log = getLogger("dashboard");
const encoder = new TextEncoder();

/** The dashboard's event source. Start it once; serve {@linkcode DashboardFeed.handle} at `/api/events`. */
export class DashboardFeed {
  readonly boot = crypto.randomUUID().slice(0, 8);
  #opts: DashboardFeedOptions;
  #seq = 0;
  #kept = new Map<RecordKind, FeedEvent[]>();
  #clients = new Set<(event: FeedEvent) => void>();
  #subs: Subscription[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastPrice = new Map<string, number>();
  #keep: number;

  constructor(options: DashboardFeedOptions) {
    this.#opts = options;
    this.#keep = options.keep ?? 300;
  }

  /** Subscribes to the topics and starts the state timer. A topic that cannot be tailed is logged and skipped. */
  async start(): Promise<void> {
    const { topics } = this.#opts;
    const tails: [RecordKind, string, boolean][] = [
      ...topics.prices.map((t): [RecordKind, string, boolean] => ["price", t, false]),
      ...topics.alerts.map((t): [RecordKind, string, boolean] => ["alert", t, true]),
      ...topics.insights.map((t): [RecordKind, string, boolean] => ["insight", t, true]),
      ...topics.deadLetters.map((t): [RecordKind, string, boolean] => ["deadletter", t, true]),
    ];
    for (const [kind, topic, fromBeginning] of tails) {
      try {
        this.#subs.push(
          await this.#opts.connector.subscribe({
            group: `qistream.dashboard-${crypto.randomUUID()}`,
            topics: [topic],
            fromBeginning,
            onBatch: async (batch) => {
              for (const record of batch.records) await this.#onRecord(kind, record);
            },
          }),
        );
      } catch (error) {
        log.warn("the dashboard cannot tail {topic}: {error}", { topic, error });
      }
    }
    this.#timer = setInterval(
      () => this.#broadcast({ type: "state", data: this.#state() }),
      this.#opts.intervalMs ?? 1000,
    );
    Deno.unrefTimer(this.#timer);
  }

  /** Stops the timer, leaves the tails and ends every client's stream. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const sub of this.#subs.splice(0)) await sub.close().catch(() => {});
    for (const client of this.#clients) client({ type: "reset", data: { closing: true } });
    this.#clients.clear();
  }

  /** Records kept of one kind, oldest first. */
  kept(kind: RecordKind): FeedEvent[] {
    return [...(this.#kept.get(kind) ?? [])];
  }

  /**
   * Answers `GET /api/events`: a `text/event-stream` that starts with what the client missed (per
   * `Last-Event-ID`) or everything kept, then the newest `state`, then live events until the client goes away.
   */
  handle(request: Request): Response {
    const last = request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("lastEventId");
    const backlog = this.#backlog(last);
    let send: ((event: FeedEvent) => void) | undefined;
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        send = (event) => {
          try {
            controller.enqueue(encoder.encode(frame(event)));
            if (event.type === "reset" && (event.data as { closing?: boolean }).closing) controller.close();
          } catch {
            this.#clients.delete(send!);
          }
        };
        controller.enqueue(encoder.encode("retry: 1000\n\n"));
        for (const event of backlog) send(event);
        send({ type: "state", data: this.#state() });
        this.#clients.add(send);
        keepAlive = setInterval(() => {
          try {
            controller.enqueue(encoder.encode(": keep-alive\n\n"));
          } catch { /* closed */ }
        }, 15_000);
        Deno.unrefTimer(keepAlive);
      },
      cancel: () => {
        if (send) this.#clients.delete(send);
        clearInterval(keepAlive);
      },
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /** What a client with `lastEventId` has not seen: its missed events, or a reset and everything kept. */
  #backlog(lastEventId: string | null): FeedEvent[] {
    const all = [...this.#kept.values()].flat().sort((a, b) => seqOf(a.id!) - seqOf(b.id!));
    const [boot, seq] = lastEventId?.split(".") ?? [];
    const n = Number(seq);
    if (boot === this.boot && Number.isInteger(n)) {
      const oldest = all.length > 0 ? seqOf(all[0]!.id!) : this.#seq + 1;
      // Missed events that are no longer kept: start over rather than show a hole.
      if (n + 1 >= oldest || n >= this.#seq) return all.filter((e) => seqOf(e.id!) > n);
    }
    return [{ type: "reset", data: { boot: this.boot } }, ...all];
  }

  #state(): unknown {
    try {
      return { at: new Date().toISOString(), boot: this.boot, ...(this.#opts.state() as object) };
    } catch (error) {
      return { at: new Date().toISOString(), error: String(error) };
    }
  }

  async #onRecord(kind: RecordKind, record: ConsumedRecord): Promise<void> {
    // Prices are sampled by key (the symbol) before they are decoded: the feed decodes a few per second, not
    // every tick.
    const sampleMs = this.#opts.priceSampleMs ?? 200;
    const priceKey = kind === "price" && record.key
      ? `key:${new TextDecoder().decode(record.key)}`
      : undefined;
    if (priceKey !== undefined) {
      const now = Date.now();
      if (now - (this.#lastPrice.get(priceKey) ?? 0) < sampleMs) return;
      this.#lastPrice.set(priceKey, now);
    }
    let value: unknown = null;
    if (kind === "deadletter") {
      value = { ...summarizeDeadLetter(record), headers: record.headers };
    } else if (record.value) {
      value = await this.#opts.decode(record.value).catch((error) => ({ undecodable: String(error) }));
    }
    if (kind === "price") {
      const tick = value as { symbol?: string; price?: number; ts?: number } | null;
      if (!tick || typeof tick.symbol !== "string" || typeof tick.price !== "number") return;
      if (priceKey === undefined) {
        const now = Date.now();
        if (now - (this.#lastPrice.get(tick.symbol) ?? 0) < sampleMs) return;
        this.#lastPrice.set(tick.symbol, now);
      }
      value = { symbol: tick.symbol, price: tick.price, ts: Number(tick.ts ?? record.timestamp) };
    }
    const event: FeedEvent = {
      id: `${this.boot}.${++this.#seq}`,
      type: kind,
      data: {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        ...(kind === "price" ? {} : { headers: record.headers }),
        value,
      },
    };
    const list = this.#kept.get(kind) ?? [];
    list.push(event);
    if (list.length > this.#keep) list.splice(0, list.length - this.#keep);
    this.#kept.set(kind, list);
    this.#broadcast(event);
  }

  #broadcast(event: FeedEvent): void {
    for (const client of this.#clients) client(event);
  }
}

function seqOf(id: string): number {
  return Number(id.split(".")[1]);
}

/** One SSE frame; `data` is JSON on one line (BigInts as strings). */
function frame(event: FeedEvent): string {
  const data = JSON.stringify(event.data, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  return `${event.id ? `id: ${event.id}\n` : ""}event: ${event.type}\ndata: ${data}\n\n`;
}
