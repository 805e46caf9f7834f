/**
 * `deno task services up|down|status|env` and `deno task test`: the test services' command line.
 *
 * `test` brings the services up (or reuses running ones), runs `deno test` with their addresses in the
 * environment, and stops what it started — also on Ctrl-C, SIGTERM or a failed run.
 *
 * @module
 */

import { down, ENV_FILE, isHealthy, progress, readState, up } from "./launcher.ts";

const USAGE = `Usage:
  deno task services up       start the test services and leave them running (addresses in ${ENV_FILE})
  deno task services down     stop them
  deno task services status   show what runs and where
  deno task services env      print their addresses as shell export lines
  deno task test [ARGS...]    bring services up, run deno test ARGS, stop what was started`;

/** Runs `deno test` with the services' environment; returns its exit code. */
async function runTests(args: string[], env: Record<string, string>, signal: AbortSignal): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--unstable-worker-options", ...args],
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const onAbort = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const status = await child.status;
  signal.removeEventListener("abort", onAbort);
  return status.code;
}

async function main(argv: string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    progress("interrupted: stopping");
    controller.abort(new Error("interrupted"));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    switch (command) {
      case "up": {
        const { state } = await up(controller.signal);
        progress(`up; addresses in ${ENV_FILE}:`);
        for (const [key, value] of Object.entries(state.env)) console.log(`${key}=${value}`);
        return 0;
      }
      case "down":
        await down();
        progress("down");
        return 0;
      case "status": {
        const state = readState();
        if (!state) {
          console.log("no test services running");
          return 1;
        }
        console.log(
          `started ${state.startedAt} in ${state.runDir}: ${
            isHealthy(state) ? "healthy" : "NOT all running"
          }`,
        );
        for (const service of state.services) {
          console.log(
            `  ${service.name.padEnd(16)} pids ${service.pids.join(",")}  log ${service.logFile ?? "-"}`,
          );
        }
        for (const [key, value] of Object.entries(state.env)) console.log(`  ${key}=${value}`);
        return isHealthy(state) ? 0 : 1;
      }
      case "env": {
        const state = readState();
        if (!state) return 1;
        for (const [key, value] of Object.entries(state.env)) console.log(`export ${key}='${value}'`);
        return 0;
      }
      case "test": {
        const args = rest[0] === "--" ? rest.slice(1) : rest;
        const { state, reused } = await up(controller.signal);
        try {
          if (controller.signal.aborted) return 130;
          progress(`running deno test ${args.join(" ")}`.trimEnd());
          const code = await runTests(args, { ...Deno.env.toObject(), ...state.env }, controller.signal);
          return interrupted ? 130 : code;
        } finally {
          if (!reused) await down();
          else {progress(
              "leaving the services up (they were running before); stop them with `deno task services down`",
            );}
        }
      }
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return 0;
      default:
        console.error(`Unknown command "${command}".\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return interrupted ? 130 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
