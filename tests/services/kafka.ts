/**
 * Apache Kafka 3.9 for the tests: a single KRaft node (broker and controller in one JVM) from Maven Central
 * jars, on free loopback ports, with a plain listener and a SASL listener (PLAIN and SCRAM users) for the
 * connector's security tests.
 *
 * @module
 */

import { canConnect, freePort, run, spawnDetached, waitHealthy } from "./process.ts";
import type { RunningService, ServiceContext, ServiceDefinition } from "./service.ts";
import { exists, findJava, mavenCopyDependencies } from "./toolchain.ts";

/** The Kafka release the tests run against (kafkajs 2.2.4 predates Kafka 4). */
export const KAFKA_VERSION = "3.9.1";

/** The SASL user the test broker knows, for PLAIN and SCRAM-SHA-256/512. */
export const KAFKA_SASL_USER = { username: "qistream", password: "qistream-secret" };

/** Where the Kafka jars live once fetched; the benchmarks run Kafka's perf tools from here too. */
export function kafkaLibDir(cacheDir: string): string {
  return `${cacheDir}/kafka-${KAFKA_VERSION}/libs`;
}

/** Fetches the Kafka jars through Maven (cached) and returns the classpath glob. */
export async function ensureKafkaJars(cacheDir: string, progress: (m: string) => void): Promise<string> {
  const libs = kafkaLibDir(cacheDir);
  if (!(await exists(`${libs}/kafka_2.13-${KAFKA_VERSION}.jar`))) {
    progress(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central (cached in ~/.m2 and ${libs})`);
    await mavenCopyDependencies(new URL("./kafka_pom.xml", import.meta.url).pathname, libs);
  }
  return `${libs}/*`;
}

/**
 * A random cluster id in Kafka's URL-safe base64 form. Like Kafka's own `Uuid.randomUuid()`, never one that
 * starts with "-": the storage tool would read it as an option and the format would fail.
 */
function clusterId(): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const id = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(
      /=+$/,
      "",
    );
    if (!id.startsWith("-")) return id;
  }
}

export const kafka: ServiceDefinition = {
  name: "kafka",
  overrideEnv: ["KAFKA_BROKERS"],
  async start(ctx: ServiceContext): Promise<RunningService> {
    const classpath = await ensureKafkaJars(ctx.cacheDir, ctx.progress);
    const java = await findJava(17, ctx.cacheDir, ctx.progress);
    const dir = `${ctx.runDir}/kafka`;
    await Deno.mkdir(`${dir}/data`, { recursive: true });
    const [port, saslPort, controllerPort] = [freePort(), freePort(), freePort()];
    const { username, password } = KAFKA_SASL_USER;
    const properties = [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`,
      "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
      `log.dirs=${dir}/data`,
      "num.partitions=1",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=10",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "auto.create.topics.enable=true",
      "log.flush.interval.messages=9223372036854775807",
      // The log cleaner looks for work every 0.5 s (default 15 s), so compacted-topic tests see compaction soon.
      "log.cleaner.backoff.ms=500",
      "num.network.threads=2",
      "num.io.threads=4",
    ];
    await Deno.writeTextFile(`${dir}/server.properties`, properties.join("\n") + "\n");
    await Deno.writeTextFile(
      `${dir}/log4j.properties`,
      [
        "log4j.rootLogger=INFO, stdout",
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
        "log4j.logger.kafka=INFO",
        "log4j.logger.org.apache.kafka=WARN",
        "log4j.logger.state.change.logger=WARN",
        "log4j.logger.kafka.controller=WARN",
        "log4j.logger.kafka.log.LogCleaner=WARN",
        "log4j.logger.kafka.request.logger=WARN",
      ].join("\n") + "\n",
    );
    const jvm = [
      java,
      "-Xms256m",
      "-Xmx512m",
      `-Dlog4j.configuration=file:${dir}/log4j.properties`,
      "-cp",
      classpath,
    ];
    await run([
      ...jvm,
      "kafka.tools.StorageTool",
      "format",
      "--config",
      `${dir}/server.properties`,
      "--cluster-id",
      clusterId(),
      "--add-scram",
      `SCRAM-SHA-256=[name=${username},password=${password}]`,
      "--add-scram",
      `SCRAM-SHA-512=[name=${username},password=${password}]`,
    ]);
    const command = [...jvm, "kafka.Kafka", `${dir}/server.properties`];
    const logFile = `${dir}/kafka.log`;
    const pid = spawnDetached(command, logFile);
    ctx.track(pid);
    await waitHealthy({ name: "kafka", command, pid, logFile }, async () => {
      if (!(await canConnect("127.0.0.1", port))) return false;
      const log = await Deno.readTextFile(logFile);
      return log.includes("Kafka Server started");
    }, { timeoutMs: 90_000, signal: ctx.signal });
    return {
      name: "kafka",
      pids: [pid],
      logFile,
      env: {
        KAFKA_BROKERS: `127.0.0.1:${port}`,
        KAFKA_SASL_BROKERS: `127.0.0.1:${saslPort}`,
        KAFKA_SASL_USERNAME: username,
        KAFKA_SASL_PASSWORD: password,
        KAFKA_LIBS: classpath,
        KAFKA_JAVA: java,
      },
    };
  },
};
