/**
 * A loopback HTTP proxy in front of a real service (the schema registry) that counts the requests it forwards
 * and can stage faults: answer 503, hang until the client times out, or stop listening (connections are refused) and listen again on the same
 * port. Tests use it to see what the registry sees and to stage an outage without stopping the shared service.
 *
 * @module
 */

/**
 * How the proxy treats a request: forward it, answer `503 Service Unavailable`, or `hang` (answer nothing
 * until the client gives up, so the client times out).
 */
export type ProxyMode = "forward" | "503" | "hang";

/** A running proxy. */
export interface HttpFaultProxy {
  /** The proxy's URL for `target`'s path (same path, loopback host and the proxy's port). */
  readonly url: string;
  /** What the proxy does with the next requests. */
  mode: ProxyMode;
  /** Requests received per `METHOD path`, whatever the mode. */
  readonly counts: Map<string, number>;
  /** Most requests in flight at once per `METHOD path` (forwarded ones). */
  readonly maxConcurrent: Map<string, number>;
  /** Requests answered 503. */
  readonly faults: number;
  /** Requests held unanswered until the client gave up (mode `hang`). */
  readonly hangs: number;
  /** Stops listening: connections to the port are refused until {@linkcode HttpFaultProxy.up}. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): void;
  /** Requests received for paths matching `pattern`. */
  count(pattern: RegExp): number;
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) that forwards to `target`'s origin.
 *
 * @param target the service URL, e.g. `http://127.0.0.1:8080/apis/ccompat/v7`
 * @returns the proxy, in mode `forward`
 */
export function startHttpFaultProxy(target: string): HttpFaultProxy {
  const upstream = new URL(target);
  const counts = new Map<string, number>();
  const maxConcurrent = new Map<string, number>();
  const inflight = new Map<string, number>();
  let faults = 0;
  let hangs = 0;
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const key = `${req.method} ${url.pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (proxy.mode === "hang") {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 60_000);
        req.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(undefined);
        }, { once: true });
      });
      hangs++;
      return new Response(null, { status: 504 });
    }
    if (proxy.mode === "503") {
      faults++;
      return Response.json({ error_code: 50301, message: "staged outage" }, { status: 503 });
    }
    const now = (inflight.get(key) ?? 0) + 1;
    inflight.set(key, now);
    maxConcurrent.set(key, Math.max(maxConcurrent.get(key) ?? 0, now));
    try {
      const res = await fetch(new URL(url.pathname + url.search, upstream.origin), {
        method: req.method,
        headers: req.headers,
        body: req.body,
      });
      // fetch already decoded the body: drop the headers that described its encoding.
      const headers = new Headers(res.headers);
      headers.delete("content-encoding");
      headers.delete("content-length");
      return new Response(await res.arrayBuffer(), { status: res.status, headers });
    } finally {
      inflight.set(key, (inflight.get(key) ?? 1) - 1);
    }
  };
  let server: Deno.HttpServer | undefined = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handler,
  );
  const port = (server.addr as Deno.NetAddr).port;
  const proxy: HttpFaultProxy = {
    url: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, "")}`,
    mode: "forward",
    counts,
    maxConcurrent,
    get faults() {
      return faults;
    },
    get hangs() {
      return hangs;
    },
    count(pattern) {
      let n = 0;
      for (const [k, v] of counts) if (pattern.test(k)) n += v;
      return n;
    },
    async down() {
      await server?.shutdown();
      server = undefined;
    },
    up() {
      server ??= Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handler);
    },
    async close() {
      await proxy.down();
    },
  };
  return proxy;
}
