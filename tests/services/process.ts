/**
 * Process helpers for the launcher: start a service detached in its own session with output to a log file,
 * wait for it to be healthy, and stop its process group.
 *
 * @module
 */

import { ServiceStartError } from "./service.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";

/** Starts `command` in a new session (so the terminal's Ctrl-C reaches only the launcher) with output to `logFile`. */
export function spawnDetached(
  command: string[],
  logFile: string,
  options: { cwd?: string; env?: Record<string, string> } = {},
): number {
  const child = new Deno.Command("sh", {
    args: ["-c", 'log=$1; shift; exec setsid "$@" >>"$log" 2>&1 </dev/null', "sh", logFile, ...command],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  // Reap it if it exits while we are still running, so it does not linger as a zombie.
  child.status.catch(() => {});
  return child.pid;
}

/** Runs a command to completion and returns its output; throws with stderr when it fails. */
export async function run(
  command: string[],
  options: { cwd?: string; env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<string> {
  const [bin, ...args] = command;
  if (!bin) throw new TypeError("Cannot run an empty command");
  const output = await new Deno.Command(bin, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(`${command.join(" ")} exited with ${output.code}:\n${tail(text, 30)}`);
  }
  return text;
}

/** True when a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Sends a signal to a process group, ignoring groups that are already gone. */
export function signalGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch {
    try {
      Deno.kill(pgid, signal);
    } catch {
      // already gone
    }
  }
}

/** `signal` (SIGTERM by default), then SIGKILL after `graceMs` if the group's leader is still alive. */
export async function stopGroup(
  pgid: number,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 10_000,
): Promise<void> {
  signalGroup(pgid, signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pgid) && Date.now() < deadline) await delay(100);
  if (isAlive(pgid)) signalGroup(pgid, "SIGKILL");
  while (isAlive(pgid) && Date.now() < deadline + 5_000) await delay(50);
}

/** The last `lines` lines of a text. */
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** The last lines of a log file, or a note that it is empty or missing. */
export function logTail(path: string | undefined, lines = 40): string {
  if (!path) return "(no log)";
  try {
    return tail(Deno.readTextFileSync(path), lines) || "(log is empty)";
  } catch {
    return `(no log at ${path})`;
  }
}

/** Resolves after `ms` milliseconds, or rejects when `signal` aborts (the shared abortable sleep). */
export const delay = abortableSleep;

/**
 * Polls `probe` until it returns true; fails with the service's name, command and log tail when the process
 * dies or the time runs out.
 */
export async function waitHealthy(
  service: { name: string; command: string[]; pid: number; logFile: string },
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (!isAlive(service.pid)) {
      throw new ServiceStartError(
        service.name,
        service.command,
        "the process exited",
        logTail(service.logFile),
      );
    }
    await delay(250, options.signal);
  }
  const why = lastError instanceof Error ? ` (last probe: ${lastError.message})` : "";
  throw new ServiceStartError(
    service.name,
    service.command,
    `not healthy after ${options.timeoutMs / 1000} s${why}`,
    logTail(service.logFile),
  );
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** True when a TCP connection to host:port succeeds. */
export async function canConnect(hostname: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
