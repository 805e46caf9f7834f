/**
 * Runs a Java main class or single-file source program on Kafka's jars (the test services' `KAFKA_LIBS`) with
 * log4j quiet below ERROR, for Kafka's own tools and the interop client.
 *
 * @module
 */

/**
 * Runs `java -cp classpath main ...args` and returns its standard output.
 *
 * @param java the `java` binary
 * @param classpath Kafka's jars
 * @param main a main class (`org.apache.kafka.tools.ProducerPerformance`) or a `.java` source file
 * @param args the program's arguments
 * @throws {Error} with the end of its standard error when it exits non-zero
 */
export async function runKafkaJava(
  java: string,
  classpath: string,
  main: string,
  args: string[],
): Promise<string> {
  const log4j = await Deno.makeTempFile({ suffix: ".properties" });
  await Deno.writeTextFile(
    log4j,
    "log4j.rootLogger=ERROR, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n" +
      "log4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n",
  );
  try {
    const output = await new Deno.Command(java, {
      args: ["-Xmx512m", `-Dlog4j.configuration=file:${log4j}`, "-cp", classpath, main, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `${main} failed (${output.code}): ${new TextDecoder().decode(output.stderr).slice(-3000)}`,
      );
    }
    return new TextDecoder().decode(output.stdout);
  } finally {
    await Deno.remove(log4j);
  }
}
