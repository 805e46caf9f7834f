/**
 * A fake Twelve Data (REST `time_series`/`quote`/`price` + the websocket price stream) on 127.0.0.1,
 * port 0, speaking the real wire format (see shared/MARKET_APIS.md): numbers as strings, errors as
 * `{code,message,status:"error"}` (with HTTP 200 by default, as the real API often does), per-minute
 * credits (1 per symbol, code 429 when out), at most 3 sockets per key (a 4th closes the oldest),
 * subscribe-status with partial failures, heartbeat replies that can stop, dropped connections and
 * malformed events. For tests only.
 *
 * @module
 */

/** A REST failure the fake can be told to return. */
export type TwelveDataFault =
  | "bad-request-400"
  | "not-found-404"
  | "server-500"
  | "malformed-values"
  | "http-502";

/** Options of {@link startFakeTwelveData}. */
export interface FakeTwelveDataOptions {
  /** When set, other keys get code 401. */
  apiKey?: string;
  /** Credits per window. Default 8. */
  creditsPerMinute?: number;
  /** Length of the credit window in ms. Default 60 000. */
  creditWindowMs?: number;
  /** Send errors with HTTP 200 (the body says error) instead of the matching HTTP status. Default true. */
  errorsAsHttp200?: boolean;
  /** Symbols the websocket refuses in subscribe-status `fails`. Default `["FAKE"]`. */
  unknownSymbols?: string[];
  /** Sockets per key; opening one more closes the oldest. Default 3. */
  maxSockets?: number;
}

/** One REST request the fake received. */
export interface TwelveDataRequest {
  path: string;
  params: Record<string, string>;
  authorization: string | null;
  /** Wall-clock time of arrival (ms). */
  at: number;
}

/** The running fake and its switches. */
export interface FakeTwelveData {
  readonly restUrl: string;
  readonly wsUrl: string;
  readonly requests: TwelveDataRequest[];
  /** Messages clients sent on the websocket (parsed JSON). */
  readonly received: unknown[];
  /** Websocket connections accepted so far. */
  readonly connections: number;
  /** Sockets open now. */
  readonly openSockets: number;
  /** Makes the next `count` REST requests fail with `fault`. */
  failNext(fault: TwelveDataFault, count?: number): void;
  /** Whether heartbeats are answered. */
  setHeartbeatReplies(on: boolean): void;
  /** Sends a price event to the sockets subscribed to `symbol` (FX adds bid/ask). */
  price(symbol: string, price: number, extra?: Record<string, unknown>): void;
  /** Sends a raw text frame to every open socket. */
  sendRaw(text: string): void;
  /** Sends an event object to every open socket. */
  send(event: Record<string, unknown>): void;
  /** Closes every socket at once. */
  dropAll(): void;
  /** Resolves when `predicate` holds, rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Stops the server. */
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  key: string;
  symbols: Set<string>;
}

/**
 * Starts the fake.
 *
 * @param options key, credits, limits
 * @returns the fake, listening
 */
export function startFakeTwelveData(options: FakeTwelveDataOptions = {}): FakeTwelveData {
  const credits = options.creditsPerMinute ?? 8;
  const windowMs = options.creditWindowMs ?? 60_000;
  const as200 = options.errorsAsHttp200 ?? true;
  const unknown = new Set(options.unknownSymbols ?? ["FAKE"]);
  const maxSockets = options.maxSockets ?? 3;
  const requests: TwelveDataRequest[] = [];
  const received: unknown[] = [];
  const clients: Client[] = [];
  const faults: TwelveDataFault[] = [];
  const used = new Map<number, number>(); // window index -> credits used
  let heartbeatReplies = true;
  let connections = 0;

  const error = (code: number, message: string) =>
    Response.json({ code, message, status: "error" }, { status: as200 ? 200 : code });

  const rest = (url: URL, req: Request): Response => {
    const params = Object.fromEntries(url.searchParams);
    const authorization = req.headers.get("authorization");
    requests.push({ path: url.pathname, params, authorization, at: Date.now() });
    const key = authorization?.replace(/^apikey /i, "") ?? params.apikey;
    if (options.apiKey !== undefined && key !== options.apiKey) {
      return error(
        401,
        "**apikey** parameter is incorrect or not specified. You can get your free API key instantly following this link: https://twelvedata.com/apikey.",
      );
    }
    const symbols = (params.symbol ?? "").split(",").filter((s) => s !== "");
    const window = Math.floor(Date.now() / windowMs);
    const spent = (used.get(window) ?? 0) + Math.max(1, symbols.length);
    used.set(window, spent);
    if (spent > credits) {
      return error(
        429,
        `You have run out of API credits for the current minute. ${spent} API credits were used, with the current limit being ${credits}. Wait for the next minute or consider switching to a higher tier plan at https://twelvedata.com/pricing`,
      );
    }
    const fault = faults.shift();
    if (fault === "bad-request-400") {
      return error(400, "**interval** is not supported. Supported intervals: 1min, 5min, ...");
    }
    if (fault === "not-found-404") {
      return error(
        404,
        "**symbol** not found: NOPE. Please specify it correctly according to API Documentation.",
      );
    }
    if (fault === "server-500") return error(500, "We're sorry, an internal error occurred.");
    if (fault === "http-502") return new Response("<html>Bad Gateway</html>", { status: 502 });
    const symbol = symbols[0] ?? "";
    if (url.pathname === "/price") return Response.json({ price: "190.25000" });
    if (url.pathname === "/quote") {
      return Response.json({
        symbol,
        name: "Apple Inc",
        exchange: "NASDAQ",
        mic_code: "XNGS",
        currency: "USD",
        datetime: "2024-01-02",
        timestamp: 1704205800,
        open: "187.15000",
        high: "188.44000",
        low: "183.88500",
        close: "185.64000",
        volume: "82488700",
        previous_close: "192.53000",
        change: "-6.89000",
        percent_change: "-3.57867",
        average_volume: "55230940",
        is_market_open: false,
        fifty_two_week: { low: "123.15000", high: "199.62000" },
      });
    }
    if (url.pathname === "/time_series") {
      const n = Math.min(5000, Number(params.outputsize ?? 30));
      const stepMin = params.interval === "1h" ? 60 : params.interval === "1day" ? 1440 : 1;
      const end = Date.UTC(2024, 0, 2, 15, 59);
      const values = Array.from({ length: n }, (_, i) => {
        const t = new Date(end - i * stepMin * 60_000).toISOString();
        const datetime = stepMin === 1440 ? t.slice(0, 10) : `${t.slice(0, 10)} ${t.slice(11, 19)}`;
        const p = 185 + (i % 7) / 10;
        return {
          datetime,
          open: p.toFixed(5),
          high: (p + 0.2).toFixed(5),
          low: (p - 0.2).toFixed(5),
          close: (p + 0.1).toFixed(5),
          volume: String(1000 + i),
        };
      });
      if (fault === "malformed-values" && values[0]) values[0].close = "n/a";
      return Response.json({
        meta: {
          symbol,
          interval: params.interval,
          currency: "USD",
          exchange_timezone: "UTC",
          exchange: "NASDAQ",
          mic_code: "XNGS",
          type: "Common Stock",
        },
        values,
        status: "ok",
      });
    }
    return error(404, `path ${url.pathname} not found`);
  };

  const onSocket = (ws: WebSocket, key: string) => {
    connections++;
    const client: Client = { ws, key, symbols: new Set() };
    ws.onopen = () => {
      const mine = clients.filter((c) => c.key === key);
      if (mine.length >= maxSockets) {
        const oldest = mine[0]!;
        clients.splice(clients.indexOf(oldest), 1);
        oldest.ws.close(1000, "Too many connections for this api key");
      }
      clients.push(client);
    };
    ws.onmessage = (e) => {
      let msg: { action?: string; params?: { symbols?: string | { symbol: string }[] } };
      try {
        msg = JSON.parse(String(e.data));
      } catch {
        return;
      }
      received.push(msg);
      if (msg.action === "heartbeat") {
        if (heartbeatReplies) send(ws, { event: "heartbeat", status: "ok" });
      } else if (msg.action === "subscribe") {
        const raw = msg.params?.symbols ?? "";
        const list = typeof raw === "string"
          ? raw.split(",").filter((s) => s !== "")
          : raw.map((s) => s.symbol);
        const success = list.filter((s) => !unknown.has(s));
        const fails = list.filter((s) => unknown.has(s));
        for (const s of success) client.symbols.add(s);
        send(ws, {
          event: "subscribe-status",
          status: fails.length === 0 ? "ok" : success.length === 0 ? "error" : "warning",
          success: success.map((symbol) => ({
            symbol,
            exchange: "NASDAQ",
            country: "United States",
            type: "Common Stock",
          })),
          fails: fails.map((symbol) => ({ symbol, message: `Symbol ${symbol} not found` })),
        });
      } else if (msg.action === "unsubscribe") {
        const raw = msg.params?.symbols ?? "";
        for (const s of typeof raw === "string" ? raw.split(",") : raw.map((x) => x.symbol)) {
          client.symbols.delete(s);
        }
      } else if (msg.action === "reset") {
        client.symbols.clear();
      }
    };
    const remove = () => {
      const i = clients.indexOf(client);
      if (i >= 0) clients.splice(i, 1);
    };
    ws.onclose = remove;
    ws.onerror = remove;
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (req.headers.get("upgrade") === "websocket" && url.pathname === "/v1/quotes/price") {
      const key = url.searchParams.get("apikey") ?? "";
      if (options.apiKey !== undefined && key !== options.apiKey) {
        return new Response(JSON.stringify({ code: 401, message: "invalid api key", status: "error" }), {
          status: 401,
        });
      }
      const { socket, response } = Deno.upgradeWebSocket(req);
      onSocket(socket, key);
      return response;
    }
    return rest(url, req);
  });

  return {
    restUrl: `http://127.0.0.1:${server.addr.port}`,
    wsUrl: `ws://127.0.0.1:${server.addr.port}/v1/quotes/price`,
    requests,
    received,
    get connections() {
      return connections;
    },
    get openSockets() {
      return clients.length;
    },
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    setHeartbeatReplies(on) {
      heartbeatReplies = on;
    },
    price(symbol, price, extra = {}) {
      const fx = symbol.includes("/");
      const [base, quote] = symbol.split("/");
      const event = {
        event: "price",
        symbol,
        currency: quote ?? "USD",
        exchange: fx ? "PHYSICAL CURRENCY" : "NASDAQ",
        mic_code: fx ? undefined : "XNGS",
        type: fx ? "Physical Currency" : "Common Stock",
        timestamp: Math.floor(Date.now() / 1000),
        price,
        ...(fx
          ? { currency_base: base, currency_quote: quote, bid: price - 0.0001, ask: price + 0.0001 }
          : { day_volume: 1234 }),
        ...extra,
      };
      for (const c of clients) if (c.symbols.has(symbol)) send(c.ws, event);
    },
    sendRaw(text) {
      for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
    },
    send(event) {
      for (const c of clients) send(c.ws, event);
    },
    dropAll() {
      for (const c of clients.splice(0)) c.ws.close(1011, "dropped");
    },
    async waitFor(predicate, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const c of clients.splice(0)) c.ws.close(1001, "server stopping");
      await server.shutdown();
    },
  };
}

function send(ws: WebSocket, event: Record<string, unknown>): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(event));
}
