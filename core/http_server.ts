/**
 * The process's HTTP server: `/metrics`, `/healthz`, `/readyz`, and handlers mounted by path prefix
 * (`/mcp`, `/api`, ...) by later modules.
 *
 * @module
 */
import { getLogger } from "./log.ts";
import { counter, METRICS_CONTENT_TYPE, metricsText } from "./metrics.ts";
import { ReadinessChecks } from "./readiness.ts";

/** A mounted handler: receives every request whose path is the prefix or under it. */
export type HttpHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Interface to bind, e.g. `127.0.0.1` or `0.0.0.0`. */
  host: string;
  /** Port; 0 picks a free one (read it back from {@link HttpServer.port}). */
  port: number;
  /** Readiness checks behind `/readyz`; a new empty set by default. */
  readiness?: ReadinessChecks;
}

/** A running HTTP server. */
export interface HttpServer {
  /** The bound host. */
  readonly host: string;
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** `http://host:port` (IPv6 hosts bracketed; `0.0.0.0` shown as `127.0.0.1`). */
  readonly url: string;
  /** The checks behind `/readyz`; add to it while running. */
  readonly readiness: ReadinessChecks;
  /**
   * Routes requests under `prefix` (e.g. `/mcp`) to `handler`; the longest matching prefix wins. `/` takes
   * every path no other prefix (nor a built-in route) takes.
   * @returns a function that unmounts it
   * @throws {TypeError} for a prefix that does not start with `/`, ends with `/` (other than `/` itself), or is
   *   a built-in route
   * @throws {Error} when the prefix is already mounted
   */
  mount(prefix: string, handler: HttpHandler): () => void;
  /**
   * Stops accepting connections and waits for in-flight requests, at most `timeoutMs` (default 5000).
   * @returns true when everything finished in time
   */
  shutdown(timeoutMs?: number): Promise<boolean>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

const BUILT_IN = new Set(["/metrics", "/healthz", "/readyz"]);

/**
 * Starts the HTTP server.
 *
 * @param options host, port and readiness checks
 * @returns the running server, already listening
 *
 * @example
 * ```ts
 * const http = startHttpServer({ host: "127.0.0.1", port: 0 });
 * http.mount("/api", (req) => Response.json({ path: new URL(req.url).pathname }));
 * console.log(`${http.url}/metrics`);
 * await http.shutdown();
 * ```
 */
export function startHttpServer(options: HttpServerOptions): HttpServer {
  const log = getLogger("http");
  const readiness = options.readiness ?? new ReadinessChecks();
  const mounts = new Map<string, HttpHandler>();
  const requests = counter({
    name: "qistream_http_requests_total",
    help: "HTTP requests served, by route and status code",
    labelNames: ["route", "status"],
  });

  const route = (path: string): { name: string; handler?: HttpHandler } => {
    if (BUILT_IN.has(path)) return { name: path };
    let best: string | undefined;
    for (const prefix of mounts.keys()) {
      if (
        (path === prefix || path.startsWith(`${prefix}/`) || prefix === "/") &&
        (best === undefined || prefix.length > best.length)
      ) {
        best = prefix;
      }
    }
    return best === undefined ? { name: "other" } : { name: best, handler: mounts.get(best) };
  };

  const handle = async (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const target = route(path);
    let response: Response;
    try {
      if (target.handler) response = await target.handler(request, info);
      else if (path === "/healthz") response = Response.json({ status: "ok" });
      else if (path === "/readyz") {
        const report = await readiness.run();
        response = Response.json(
          { status: report.ready ? "ready" : "not ready", checks: report.checks },
          { status: report.ready ? 200 : 503 },
        );
      } else if (path === "/metrics") {
        response = new Response(await metricsText(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
      } else response = Response.json({ error: "not found", path }, { status: 404 });
    } catch (error) {
      log.error("request to {path} failed: {error}", { path, error });
      response = Response.json({ error: "internal error" }, { status: 500 });
    }
    requests.inc({ route: target.name, status: String(response.status) });
    return response;
  };

  const server = Deno.serve({ hostname: options.host, port: options.port, onListen: () => {} }, handle);
  const addr = server.addr;
  const shownHost = addr.hostname === "0.0.0.0"
    ? "127.0.0.1"
    : addr.hostname === "::"
    ? "::1"
    : addr.hostname;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${addr.port}`;
  log.info("HTTP server listening on {url}", { url, host: addr.hostname, port: addr.port });

  let stopping: Promise<boolean> | undefined;
  return {
    host: addr.hostname,
    port: addr.port,
    url,
    readiness,
    finished: server.finished,
    mount(prefix, handler) {
      if (
        prefix !== "/" && (!prefix.startsWith("/") || prefix.length < 2 || prefix.endsWith("/") ||
          BUILT_IN.has(prefix))
      ) {
        throw new TypeError(
          `Cannot mount handler: prefix is "${prefix}", expected "/name" and not a built-in route`,
        );
      }
      if (mounts.has(prefix)) throw new Error(`Cannot mount handler: prefix "${prefix}" is already mounted`);
      mounts.set(prefix, handler);
      return () => {
        if (mounts.get(prefix) === handler) mounts.delete(prefix);
      };
    },
    shutdown(timeoutMs = 5000) {
      stopping ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs));
        const done = server.shutdown().then(() => true);
        const ok = await Promise.race([done, timeout]);
        clearTimeout(timer);
        if (ok) log.info("HTTP server stopped");
        else {log.warn("HTTP server stop timed out after {timeoutMs} ms; in-flight requests abandoned", {
            timeoutMs,
          });}
        return ok;
      })();
      return stopping;
    },
  };
}
