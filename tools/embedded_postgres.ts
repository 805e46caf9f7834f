/**
 * Embedded PostgreSQL: the default database of the PostgreSQL sink when no `DATABASE_URL` is set.
 *
 * {@linkcode startEmbeddedPostgres} opens PGlite (PostgreSQL compiled to WebAssembly, `@electric-sql/pglite`)
 * persisted in `<dataDir>/pglite` and serves it on 127.0.0.1 with `@electric-sql/pglite-socket`, so the
 * `postgres` npm client — and the `postgres.*` tools — talk to it as to a server.
 *
 * One connection at a time: PGlite is a single session. pglite-socket 0.2.17 serves one client connection by
 * default (`maxConnections: 1`); a second connection opened while the first is still open is accepted by TCP
 * but its startup is never answered, so a client pool with `max > 1` hangs as soon as it opens its second
 * connection. Use **one** `postgres` client with `max: 1` per embedded server ({@linkcode EMBEDDED_CLIENT_OPTIONS});
 * it pipelines queries on its single connection, and PGlite would run them one by one anyway. pglite-socket can
 * multiplex several connections (`maxConnections > 1`) but interleaves them message by message outside explicit
 * transactions, so two clients' unnamed statements or portals can collide; we do not enable it.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { join } from "node:path";

/** Options of {@linkcode startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** The data directory; the database lives in `<dataDir>/pglite` (created when missing). */
  dataDir: string;
  /** TCP port on 127.0.0.1; default 0 (a free port chosen by the OS). */
  port?: number;
}

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** Connection URL, e.g. `postgres://postgres@127.0.0.1:41235/postgres`; connect with `max: 1`. */
  readonly url: string;
  /** Where the database files are (`<dataDir>/pglite`). */
  readonly path: string;
  /** Stops serving and closes the database (flushing it to disk). Idempotent. */
  stop(): Promise<void>;
}

/**
 * `postgres` client options an embedded server needs: a single connection (see the module doc), and no
 * prepared statements — the query tools share that one session and end each call with `DISCARD ALL`, which
 * deallocates them.
 */
export const EMBEDDED_CLIENT_OPTIONS = { max: 1, prepare: false } as const;

/**
 * Opens (or creates) the embedded database and serves it over TCP on 127.0.0.1.
 *
 * @param options Data directory and port.
 * @returns The URL to connect to and `stop()`.
 * @throws {TypeError} When `dataDir` is empty.
 * @throws {RangeError} When `port` is not an integer in 0..65535.
 *
 * @example
 * ```ts
 * const pg = await startEmbeddedPostgres({ dataDir: "./data" });
 * const sql = postgres(pg.url, { ...EMBEDDED_CLIENT_OPTIONS, onnotice: () => {} });
 * const tools = toolCatalog({ postgres: { sql } });
 * // ...
 * await sql.end();
 * await pg.stop();
 * ```
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  if (!options.dataDir) throw new TypeError("Cannot start embedded PostgreSQL: dataDir is empty");
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot start embedded PostgreSQL: port must be an integer in 0..65535, current value is ${port}`,
    );
  }
  const path = join(options.dataDir, "pglite");
  await Deno.mkdir(path, { recursive: true });
  const db = await PGlite.create(path);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 1 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw new Error(`Cannot start embedded PostgreSQL on 127.0.0.1:${port}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    path,
    stop() {
      stopped ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopped;
    },
  };
}
