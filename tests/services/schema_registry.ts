/**
 * Apicurio Registry 3.3 for the tests, from Maven Central, serving the Confluent-compatible API under
 * `/apis/ccompat/v7`. `SCHEMA_REGISTRY_URL` points at that base, so clients treat it as a Confluent registry
 * (Redpanda's registry base is its root URL).
 *
 * @module
 */

import { freePort, spawnDetached, waitHealthy } from "./process.ts";
import type { RunningService, ServiceContext, ServiceDefinition } from "./service.ts";
import { run } from "./process.ts";
import { exists, findJava, mavenCopy } from "./toolchain.ts";

/** The Apicurio release; 3.x needs Java 21 or later. */
export const APICURIO_VERSION = "3.3.3";

export const schemaRegistry: ServiceDefinition = {
  name: "schema-registry",
  overrideEnv: ["SCHEMA_REGISTRY_URL"],
  async start(ctx: ServiceContext): Promise<RunningService> {
    const home = `${ctx.cacheDir}/apicurio-registry-${APICURIO_VERSION}`;
    if (!(await exists(`${home}/quarkus-run.jar`))) {
      ctx.progress(`fetching Apicurio Registry ${APICURIO_VERSION} from Maven Central (cached in ${home})`);
      await mavenCopy(`io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, `${home}.download`);
      await Deno.mkdir(home, { recursive: true });
      await run([
        "tar",
        "-xzf",
        `${home}.download/apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`,
        "-C",
        home,
      ]);
      await Deno.remove(`${home}.download`, { recursive: true });
    }
    const java = await findJava(21, ctx.cacheDir, ctx.progress);
    const [port, managementPort] = [freePort(), freePort()];
    const dir = `${ctx.runDir}/schema-registry`;
    await Deno.mkdir(dir, { recursive: true });
    const command = [
      java,
      "-Xms128m",
      "-Xmx512m",
      "-Dquarkus.http.host=127.0.0.1",
      `-Dquarkus.http.port=${port}`,
      "-Dquarkus.management.host=127.0.0.1",
      `-Dquarkus.management.port=${managementPort}`,
      "-Dapicurio.rest.deletion.artifact.enabled=true",
      "-Dapicurio.rest.deletion.artifact-version.enabled=true",
      "-Dapicurio.rest.deletion.group.enabled=true",
      "-Dquarkus.log.level=WARN",
      '-Dquarkus.log.category."io.apicurio".level=WARN',
      "-jar",
      `${home}/quarkus-run.jar`,
    ];
    const logFile = `${dir}/registry.log`;
    const pid = spawnDetached(command, logFile, { cwd: dir });
    ctx.track(pid);
    const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
    await waitHealthy({ name: "schema-registry", command, pid, logFile }, async () => {
      const response = await fetch(`${url}/subjects`);
      await response.body?.cancel();
      return response.ok;
    }, { timeoutMs: 120_000, signal: ctx.signal });
    return { name: "schema-registry", pids: [pid], logFile, env: { SCHEMA_REGISTRY_URL: url } };
  },
};
