/**
 * PostgreSQL for the tests: Debian's server (installed when missing) as a throwaway cluster in the run
 * directory, listening on a free loopback port with trust authentication. `initdb` and `postgres` refuse to
 * run as root, so as root they run as the `postgres` user.
 *
 * @module
 */

import { canConnect, freePort, run, spawnDetached, waitHealthy } from "./process.ts";
import type { RunningService, ServiceContext, ServiceDefinition } from "./service.ts";
import { ensureDebianPackages } from "./toolchain.ts";

/** The newest PostgreSQL server under /usr/lib/postgresql, or undefined. */
function findPostgresBin(): string | undefined {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((entry) => entry.name)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = `/usr/lib/postgresql/${version}/bin`;
      try {
        Deno.statSync(`${bin}/postgres`);
        return bin;
      } catch {
        // client only
      }
    }
  } catch {
    // none installed
  }
  return undefined;
}

export const postgres: ServiceDefinition = {
  name: "postgres",
  overrideEnv: ["DATABASE_URL"],
  async start(ctx: ServiceContext): Promise<RunningService> {
    let bin = findPostgresBin();
    if (!bin) {
      await ensureDebianPackages("/usr/lib/postgresql/__none__", ["postgresql"], ctx.progress);
      bin = findPostgresBin();
      if (!bin) throw new Error("PostgreSQL is not installed and apt-get did not provide it");
    }
    const dir = `${ctx.runDir}/postgres`;
    await Deno.mkdir(dir, { recursive: true });
    const asRoot = Deno.uid() === 0;
    const as = (command: string[]) => asRoot ? ["runuser", "-u", "postgres", "--", ...command] : command;
    if (asRoot) await run(["chown", "-R", "postgres:postgres", dir]);
    const data = `${dir}/data`;
    await run(as([`${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]));
    const port = freePort();
    const command = as([
      `${bin}/postgres`,
      "-D",
      data,
      "-p",
      String(port),
      "-h",
      "127.0.0.1",
      "-k",
      dir,
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200",
      "-c",
      "shared_buffers=128MB",
    ]);
    const logFile = `${dir}/postgres.log`;
    if (asRoot) {
      await Deno.writeTextFile(logFile, "");
      await run(["chown", "postgres:postgres", logFile]);
    }
    const pid = spawnDetached(command, logFile);
    ctx.track(pid);
    await waitHealthy({ name: "postgres", command, pid, logFile }, async () => {
      if (!(await canConnect("127.0.0.1", port))) return false;
      await run([`${bin}/pg_isready`, "-h", "127.0.0.1", "-p", String(port)]);
      return true;
    }, { timeoutMs: 60_000, signal: ctx.signal });
    return {
      name: "postgres",
      pids: [pid],
      logFile,
      // "Fast" shutdown: roll back open transactions instead of waiting for clients to leave.
      stopSignal: "SIGINT",
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` },
    };
  },
};
