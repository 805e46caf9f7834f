/**
 * The test-services launcher: brings up Kafka, the schema registry, PostgreSQL and ClickHouse on loopback
 * (or takes them from the environment), records them in `.cache/services/state.json`, writes their addresses
 * as `export` lines to `.cache/services/env`, and tears them down again.
 *
 * @module
 */

import { clickhouse } from "./clickhouse.ts";
import { kafka } from "./kafka.ts";
import { postgres } from "./postgres.ts";
import { isAlive, stopGroup } from "./process.ts";
import { schemaRegistry } from "./schema_registry.ts";
import type { RunningService, ServiceDefinition } from "./service.ts";

/** Every service the tests use, in start order. */
export const SERVICES: ServiceDefinition[] = [kafka, schemaRegistry, postgres, clickhouse];

/** The project's download cache and state folder. */
export const CACHE_DIR = new URL("../../.cache/services", import.meta.url).pathname;
/** Where the state and env files go; `QISTREAM_SERVICES_STATE_DIR` moves them (the launcher's own tests do). */
const STATE_DIR = Deno.env.get("QISTREAM_SERVICES_STATE_DIR") ?? CACHE_DIR;
const STATE_FILE = `${STATE_DIR}/state.json`;
/** Shell `export` lines with the services' addresses, for `set -a; . .cache/services/env`. */
export const ENV_FILE = `${STATE_DIR}/env`;

/** What `up` started (or found), as saved in the state file. */
export interface LauncherState {
  runDir: string;
  startedAt: string;
  services: RunningService[];
  /** Addresses for the tests: started services' and those taken from the environment. */
  env: Record<string, string>;
}

/** Writes a progress line to stderr with the time since the launcher started. */
export function progress(message: string): void {
  const seconds = (performance.now() / 1000).toFixed(1).padStart(5);
  console.error(`[services ${seconds}s] ${message}`);
}

/** The saved state, or undefined when nothing is up. */
export function readState(): LauncherState | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(STATE_FILE)) as LauncherState;
  } catch {
    return undefined;
  }
}

function writeState(state: LauncherState): void {
  Deno.mkdirSync(STATE_DIR, { recursive: true });
  Deno.writeTextFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  const lines = Object.entries(state.env).map(([key, value]) =>
    `export ${key}='${value.replaceAll("'", "'\\''")}'`
  );
  Deno.writeTextFileSync(ENV_FILE, lines.join("\n") + "\n");
}

/** True when every process of the saved state is still running. */
export function isHealthy(state: LauncherState): boolean {
  return state.services.every((service) => service.pids.every(isAlive));
}

/** Environment values taken from outside for the services that are not started. */
function overrides(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const service of SERVICES) {
    for (const name of service.overrideEnv) {
      const value = Deno.env.get(name);
      if (value) env[name] = value;
    }
  }
  return env;
}

/**
 * Starts every service (or those named in `only`) not overridden by the environment, in parallel, and waits
 * until each is healthy.
 * Reuses services that are already up. On failure or abort, stops whatever it started and rethrows.
 */
export async function up(
  signal: AbortSignal,
  only?: string[],
): Promise<{ state: LauncherState; reused: boolean }> {
  const existing = readState();
  if (existing && isHealthy(existing)) {
    progress(`services already up (started ${existing.startedAt}); reusing them`);
    return { state: { ...existing, env: { ...existing.env, ...overrides() } }, reused: true };
  }
  if (existing) await down();

  const runDir = await Deno.makeTempDir({ prefix: "qistream-services-" });
  await Deno.chmod(runDir, 0o755);
  const started: RunningService[] = [];
  const tracked = new Map<string, number[]>();
  const state: LauncherState = { runDir, startedAt: new Date().toISOString(), services: started, env: {} };
  const save = () => {
    const services = SERVICES.filter((s) => tracked.has(s.name)).map((s) =>
      started.find((r) => r.name === s.name) ?? { name: s.name, pids: tracked.get(s.name) ?? [], env: {} }
    );
    writeState({ ...state, services });
  };

  const wanted = SERVICES.filter((service) => {
    if (only && !only.includes(service.name)) return false;
    const from = service.overrideEnv.find((name) => Deno.env.get(name));
    if (from) progress(`${service.name}: using ${from} from the environment`);
    return !from;
  });
  const results = await Promise.allSettled(wanted.map(async (service) => {
    const t0 = performance.now();
    progress(`${service.name}: starting`);
    const running = await service.start({
      runDir,
      cacheDir: CACHE_DIR,
      signal,
      progress: (message) => progress(`${service.name}: ${message}`),
      track: (pid) => {
        tracked.set(service.name, [...(tracked.get(service.name) ?? []), pid]);
        save();
      },
    });
    started.push(running);
    save();
    progress(`${service.name}: healthy in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return running;
  }));

  const failures = results.flatMap((result) => result.status === "rejected" ? [result.reason] : []);
  if (failures.length > 0) {
    await down();
    throw new AggregateError(
      failures,
      failures.map((f) => f instanceof Error ? f.message : String(f)).join("\n\n"),
    );
  }
  state.services = SERVICES.flatMap((s) => started.filter((r) => r.name === s.name));
  state.env = Object.assign({}, ...state.services.map((s) => s.env), overrides());
  writeState(state);
  return { state, reused: false };
}

/** Stops every recorded service in reverse start order and removes its run directory and the state. */
export async function down(): Promise<void> {
  const state = readState();
  if (!state) return;
  for (const service of [...state.services].reverse()) {
    for (const pid of service.pids) {
      if (isAlive(pid)) {
        progress(`${service.name}: stopping (pid ${pid})`);
        await stopGroup(pid, service.stopSignal, service.stopGraceMs);
      }
    }
  }
  await Deno.remove(state.runDir, { recursive: true }).catch(() => {});
  await Deno.remove(STATE_FILE).catch(() => {});
  await Deno.remove(ENV_FILE).catch(() => {});
}
