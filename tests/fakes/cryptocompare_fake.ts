/**
 * A fake CryptoCompare (REST history + streaming websocket) on 127.0.0.1, port 0, speaking the real
 * wire format (see shared/MARKET_APIS.md), with switches for every fault the real one produces: both
 * error shapes (legacy HTTP 200 `"Response":"Error"` and 4xx `Err`), partial ticker deltas, stopped
 * heartbeats, CCSEQ gaps, socket limits (TYPE 429), unauthorised keys (TYPE 401), forced disconnects,
 * dropped connections and malformed frames. For tests only.
 *
 * @module
 */

/** A REST failure the fake can be told to return. */
export type CryptoCompareFault =
  | "legacy-rate-limit" // HTTP 200, Response Error, "You are over your rate limit..."
  | "legacy-bad-request" // HTTP 200, Response Error, "fsym param is invalid"
  | "err-401" // HTTP 401 with {Data:{}, Err:{...}}
  | "err-429" // HTTP 429 with {Data:{}, Err:{...}}
  | "http-500" // HTTP 500, text body
  | "malformed-bar"; // HTTP 200, success envelope with a bar whose close is a string

/** One REST request the fake received. */
export interface RecordedRequest {
  path: string;
  params: Record<string, string>;
  authorization: string | null;
}

/** Options of {@link startFakeCryptoCompare}. */
export interface FakeCryptoCompareOptions {
  /** When set, requests and sockets with another key are refused (REST 401 `Err`, WS TYPE 401). */
  apiKey?: string;
  /** Heartbeat period (TYPE 999). Default 1 000 ms. */
  heartbeatMs?: number;
  /** Sockets allowed at once; the next one gets TYPE 429 TOO_MANY_SOCKETS and is closed. Default unlimited. */
  maxSockets?: number;
  /** First bar time (unix s) of the history; earlier bars are zero padding. Default 0 (always listed). */
  listedAt?: number;
  /** Newest bar time served when no `toTs` is given (unix s). Default 1 700 000 000. */
  now?: number;
}

/** The running fake and its switches. */
export interface FakeCryptoCompare {
  /** REST base URL, e.g. `http://127.0.0.1:41234`. */
  readonly restUrl: string;
  /** Websocket URL, e.g. `ws://127.0.0.1:41234/v2`. */
  readonly wsUrl: string;
  /** REST requests received. */
  readonly requests: RecordedRequest[];
  /** Messages clients sent on the websocket (parsed JSON). */
  readonly received: unknown[];
  /** Websocket connections accepted so far (including refused ones). */
  readonly connections: number;
  /** Sockets open now. */
  readonly openSockets: number;
  /** Makes the next `count` REST requests fail with `fault`. */
  failNext(fault: CryptoCompareFault, count?: number): void;
  /** Stops or restarts the heartbeats. */
  setHeartbeats(on: boolean): void;
  /** Publishes a trade on `0~market~fsym~tsym` (CCSEQ increments; `skip` jumps ahead to make a gap). */
  trade(sub: string, trade: { P: number; Q: number; F?: string; skip?: number }): void;
  /** Publishes ticker fields on a `2~...` or `5~...` subscription (only the fields given: a delta). */
  ticker(sub: string, fields: Record<string, number>): void;
  /** Sends a raw text frame to every open socket (e.g. malformed JSON). */
  sendRaw(text: string): void;
  /** Sends a frame object to every open socket. */
  send(frame: Record<string, unknown>): void;
  /** Closes every open socket without any goodbye frame. */
  dropAll(): void;
  /** Resolves when `predicate` holds (polled every 10 ms), rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Stops the server. */
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  subs: Set<string>;
}

/**
 * Starts the fake.
 *
 * @param options key, heartbeat period, limits
 * @returns the fake, listening
 */
export function startFakeCryptoCompare(options: FakeCryptoCompareOptions = {}): FakeCryptoCompare {
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const requests: RecordedRequest[] = [];
  const received: unknown[] = [];
  const clients = new Set<Client>();
  const faults: CryptoCompareFault[] = [];
  const seqs = new Map<string, number>();
  const recentTrades = new Map<string, Record<string, unknown>[]>();
  const tickerState = new Map<string, Record<string, unknown>>();
  let heartbeats = true;
  let connections = 0;

  const broadcast = (sub: string, frame: Record<string, unknown>) => {
    for (const c of clients) if (c.subs.has(sub)) sendTo(c.ws, frame);
  };

  const timer = setInterval(() => {
    if (!heartbeats) return;
    for (const c of clients) sendTo(c.ws, { TYPE: "999", MESSAGE: "HEARTBEAT", TIMEMS: Date.now() });
  }, heartbeatMs);

  const onSocket = (ws: WebSocket, key: string | null) => {
    connections++;
    const client: Client = { ws, subs: new Set() };
    ws.onopen = () => {
      if (options.apiKey !== undefined && key !== options.apiKey) {
        sendTo(ws, {
          TYPE: "401",
          MESSAGE: "UNAUTHORIZED",
          PARAMETER: "format",
          INFO: "We only accept valid keys",
        });
        ws.close(1008, "unauthorized");
        return;
      }
      if (options.maxSockets !== undefined && clients.size >= options.maxSockets) {
        sendTo(ws, {
          TYPE: "429",
          MESSAGE: `TOO_MANY_SOCKETS_MAX_${options.maxSockets}_PER_CLIENT`,
          INFO: `You have reached the maximum number of open sockets for your account.`,
        });
        ws.close(1008, "too many sockets");
        return;
      }
      clients.add(client);
      sendTo(ws, {
        TYPE: "20",
        MESSAGE: "STREAMERWELCOME",
        SERVER_UPTIME_SECONDS: 1,
        SOCKETS_ACTIVE: clients.size,
        SOCKETS_REMAINING: (options.maxSockets ?? 100) - clients.size,
        RATELIMIT_MAX_SECOND: 30,
      });
    };
    ws.onmessage = (e) => {
      let msg: { action?: string; subs?: string[] };
      try {
        msg = JSON.parse(String(e.data));
      } catch {
        sendTo(ws, { TYPE: "500", MESSAGE: "INVALID_JSON", PARAMETER: String(e.data), INFO: "Invalid JSON" });
        return;
      }
      received.push(msg);
      if (msg.action === "SubAdd") {
        for (const sub of msg.subs ?? []) subscribe(client, sub);
        sendTo(ws, { TYPE: "3", MESSAGE: "LOADCOMPLETE", INFO: "All your valid subs have been loaded." });
      } else if (msg.action === "SubRemove") {
        for (const sub of msg.subs ?? []) {
          client.subs.delete(sub);
          sendTo(ws, { TYPE: "17", MESSAGE: "UNSUBSCRIBECOMPLETE", SUB: sub });
        }
        sendTo(ws, { TYPE: "18", MESSAGE: "UNSUBSCRIBEALLCOMPLETE", INFO: "Removed subs" });
      }
    };
    ws.onclose = () => clients.delete(client);
    ws.onerror = () => clients.delete(client);
  };

  const subscribe = (client: Client, sub: string) => {
    const parts = sub.split("~");
    if (!/^(0|2|5|24)$/.test(parts[0] ?? "") || parts.length < 4 || parts.some((p) => p === "")) {
      sendTo(client.ws, {
        TYPE: "500",
        MESSAGE: "INVALID_SUB",
        PARAMETER: sub,
        INFO: "Invalid subscription",
      });
      return;
    }
    if (client.subs.has(sub)) {
      sendTo(client.ws, { TYPE: "500", MESSAGE: "SUBSCRIPTION_ALREADY_ACTIVE", PARAMETER: sub });
      return;
    }
    client.subs.add(sub);
    sendTo(client.ws, { TYPE: "16", MESSAGE: "SUBSCRIBECOMPLETE", SUB: sub });
    if (parts[0] === "0") { for (const t of recentTrades.get(sub) ?? []) sendTo(client.ws, t); }
    const snapshot = tickerState.get(sub);
    if (snapshot) sendTo(client.ws, snapshot);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (req.headers.get("upgrade") === "websocket" && url.pathname === "/v2") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      onSocket(socket, url.searchParams.get("api_key"));
      return response;
    }
    return rest(url, req);
  });

  const rest = (url: URL, req: Request): Response => {
    const params = Object.fromEntries(url.searchParams);
    const authorization = req.headers.get("authorization");
    requests.push({ path: url.pathname, params, authorization });
    const key = authorization?.replace(/^Apikey /i, "") ?? params.api_key;
    if (options.apiKey !== undefined && key !== options.apiKey) {
      return errEnvelope(401, 1, "You need a valid auth key");
    }
    const fault = faults.shift();
    if (fault === "legacy-rate-limit") {
      return Response.json({
        Response: "Error",
        Message: "You are over your rate limit please upgrade your account!",
        HasWarning: false,
        Type: 99,
        RateLimit: {
          calls_made: { second: 1, minute: 301, hour: 301, day: 301, month: 301 },
          max_calls: { second: 20, minute: 300, hour: 3000, day: 7500, month: 100000 },
        },
        Data: {},
      });
    }
    if (fault === "legacy-bad-request") {
      return Response.json({
        Response: "Error",
        Message: "fsym param is invalid.",
        HasWarning: false,
        Type: 2,
        RateLimit: {},
        Data: {},
        ParamWithError: "fsym",
      });
    }
    if (fault === "err-401") {
      return errEnvelope(401, 1, "You need a valid auth key or api key to access this endpoint");
    }
    if (fault === "err-429") return errEnvelope(429, 99, "You are over your rate limit");
    if (fault === "http-500") return new Response("upstream exploded", { status: 500 });
    const m = url.pathname.match(/^\/data\/v2\/histo(minute|hour|day)$/);
    if (!m) return errEnvelope(404, 2, `path ${url.pathname} does not exist`);
    const step = m[1] === "minute" ? 60 : m[1] === "hour" ? 3600 : 86400;
    const limit = Math.min(2000, Number(params.limit ?? 1440));
    const toTs = Math.floor(Number(params.toTs ?? options.now ?? 1_700_000_000) / step) * step;
    const data: Record<string, unknown>[] = [];
    for (let t = toTs - limit * step; t <= toTs; t += step) {
      const listed = t >= (options.listedAt ?? 0);
      const price = 100 + (t / step) % 50;
      data.push({
        time: t,
        high: listed ? price + 1 : 0,
        low: listed ? price - 1 : 0,
        open: listed ? price : 0,
        volumefrom: listed ? 10 : 0,
        volumeto: listed ? 10 * price : 0,
        close: listed ? price + 0.5 : 0,
        conversionType: "direct",
        conversionSymbol: "",
      });
    }
    if (fault === "malformed-bar" && data.length > 0) {
      (data[data.length - 1] as Record<string, unknown>).close = "abc";
    }
    return Response.json({
      Response: "Success",
      Message: "",
      HasWarning: false,
      Type: 100,
      RateLimit: {},
      Data: { Aggregated: false, TimeFrom: toTs - limit * step, TimeTo: toTs, Data: data },
    });
  };

  const fake: FakeCryptoCompare = {
    restUrl: `http://127.0.0.1:${server.addr.port}`,
    wsUrl: `ws://127.0.0.1:${server.addr.port}/v2`,
    requests,
    received,
    get connections() {
      return connections;
    },
    get openSockets() {
      return clients.size;
    },
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    setHeartbeats(on) {
      heartbeats = on;
    },
    trade(sub, t) {
      const [, market, fsym, tsym] = sub.split("~");
      const seq = (seqs.get(sub) ?? 0) + 1 + (t.skip ?? 0);
      seqs.set(sub, seq);
      const now = Date.now();
      const frame = {
        TYPE: "0",
        M: market,
        FSYM: fsym,
        TSYM: tsym,
        F: t.F ?? "2",
        ID: String(1000 + seq),
        TS: Math.floor(now / 1000),
        Q: t.Q,
        P: t.P,
        TOTAL: t.P * t.Q,
        RTS: now,
        CCSEQ: seq,
      };
      const list = recentTrades.get(sub) ?? [];
      list.push(frame);
      if (list.length > 20) list.shift();
      recentTrades.set(sub, list);
      broadcast(sub, frame);
    },
    ticker(sub, fields) {
      const [type, market, fsym, tsym] = sub.split("~");
      const head = { TYPE: type, MARKET: market, FROMSYMBOL: fsym, TOSYMBOL: tsym, FLAGS: 1 };
      tickerState.set(sub, { ...(tickerState.get(sub) ?? head), ...fields });
      broadcast(sub, { ...head, ...fields });
    },
    sendRaw(text) {
      for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
    },
    send(frame) {
      for (const c of clients) sendTo(c.ws, frame);
    },
    dropAll() {
      for (const c of [...clients]) {
        clients.delete(c);
        c.ws.close(1011, "dropped");
      }
    },
    async waitFor(predicate, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      clearInterval(timer);
      for (const c of clients) c.ws.close(1001, "server stopping");
      clients.clear();
      await server.shutdown();
    },
  };
  return fake;
}

function sendTo(ws: WebSocket, frame: Record<string, unknown>): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}

function errEnvelope(status: number, type: number, message: string): Response {
  return Response.json({ Data: {}, Err: { type, message, other_info: {}, http_status_code: status } }, {
    status,
  });
}
