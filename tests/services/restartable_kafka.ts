/**
 * A Kafka broker a test or benchmark owns — started like the launcher's (`kafka.ts`: one KRaft node from the
 * Maven jars on free loopback ports) in a directory of its own — so that it can stop it (SIGTERM, as an
 * operator's restart does) and start it again on the same ports and data. Never the shared test broker.
 *
 * @module
 */
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { kafka as kafkaService } from "./kafka.ts";
import { CACHE_DIR } from "./launcher.ts";
import { canConnect, isAlive, spawnDetached, stopGroup } from "./process.ts";

/** Longest wait for the broker to come back or answer. */
const WAIT_MS = 120_000;

/** A single-node KRaft broker of a test's or benchmark's own, which it can stop and start again. */
export class RestartableKafka {
  readonly address: string;
  #command: string[];
  #logFile: string;
  #pid: number;

  private constructor(address: string, command: string[], logFile: string, pid: number) {
    this.address = address;
    this.#command = command;
    this.#logFile = logFile;
    this.#pid = pid;
  }

  static async start(runDir: string, say: (m: string) => void): Promise<RestartableKafka> {
    await Deno.mkdir(runDir, { recursive: true });
    const pids: number[] = [];
    const controller = new AbortController();
    try {
      const running = await kafkaService.start({
        runDir,
        cacheDir: CACHE_DIR,
        progress: (m) => say(`broker: ${m}`),
        track: (pid) => pids.push(pid),
        signal: controller.signal,
      });
      const dir = join(runDir, "kafka");
      const command = [
        running.env.KAFKA_JAVA!,
        "-Xms256m",
        "-Xmx512m",
        `-Dlog4j.configuration=file:${dir}/log4j.properties`,
        "-cp",
        running.env.KAFKA_LIBS!,
        "kafka.Kafka",
        `${dir}/server.properties`,
      ];
      return new RestartableKafka(running.env.KAFKA_BROKERS!, command, running.logFile!, running.pids[0]!);
    } catch (error) {
      for (const pid of pids) await stopGroup(pid, "SIGKILL", 1000);
      throw error;
    }
  }

  /** Stops the broker cleanly (SIGTERM), as an operator's restart does. */
  async stop(): Promise<void> {
    if (isAlive(this.#pid)) await stopGroup(this.#pid, "SIGTERM", 30_000);
  }

  /** Starts it again; resolves with the time its port first accepts connections. */
  async start(): Promise<number> {
    this.#pid = spawnDetached(this.#command, this.#logFile);
    const [host, port] = [this.address.split(":")[0]!, Number(this.address.split(":")[1])];
    const deadline = Date.now() + WAIT_MS;
    while (!(await canConnect(host, port))) {
      if (Date.now() > deadline || !isAlive(this.#pid)) {
        throw new Error(`the broker did not come back (${this.#logFile})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now();
  }

  /** Resolves with the time a fresh client first gets the cluster's metadata. */
  async answersMetadata(): Promise<number> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const admin = new Kafka({
        brokers: [this.address],
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 1000,
      })
        .admin();
      try {
        await admin.connect();
        await admin.fetchTopicMetadata();
        return Date.now();
      } catch {
        if (Date.now() > deadline) throw new Error("the broker never answered a metadata request");
      } finally {
        await admin.disconnect().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
