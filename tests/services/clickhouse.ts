/**
 * ClickHouse for the tests: Debian's server (18.16; installed when missing) with a generated config on free
 * loopback ports. The project's SQL must work on this old version and on current ones.
 *
 * @module
 */

import { freePort, spawnDetached, waitHealthy } from "./process.ts";
import type { RunningService, ServiceContext, ServiceDefinition } from "./service.ts";
import { ensureDebianPackages } from "./toolchain.ts";

const SERVER = "/usr/sbin/clickhouse-server";

function config(dir: string, ports: { http: number; tcp: number; interserver: number }): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/log/clickhouse-server.log</log>
    <errorlog>${dir}/log/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>2</count>
    <console>1</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <interserver_http_port>${ports.interserver}</interserver_http_port>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
`;
}

/** The read-only user of the query tools (`CLICKHOUSE_READ_URL`). */
const READER_PASSWORD = "qistream-reader";

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
      <readonly>1</readonly>
    </readonly>
    <!-- The query tools' user (ClickHouse 18.16 has no CREATE USER; an operator writes this in users.d/). -->
    <qistream_reader>
      <readonly>1</readonly>
      <max_execution_time>30</max_execution_time>
      <max_memory_usage>1000000000</max_memory_usage>
    </qistream_reader>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <qistream_reader>
      <password>${READER_PASSWORD}</password>
      <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
      <profile>qistream_reader</profile>
      <quota>default</quota>
      <allow_databases><database>default</database></allow_databases>
    </qistream_reader>
  </users>
  <quotas>
    <default>
      <interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
    </default>
  </quotas>
</yandex>
`;

export const clickhouse: ServiceDefinition = {
  name: "clickhouse",
  overrideEnv: ["CLICKHOUSE_URL"],
  async start(ctx: ServiceContext): Promise<RunningService> {
    await ensureDebianPackages(SERVER, ["clickhouse-server", "clickhouse-client"], ctx.progress);
    const dir = `${ctx.runDir}/clickhouse`;
    for (const sub of ["log", "data", "tmp", "user_files", "format_schemas"]) {
      await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    }
    const ports = { http: freePort(), tcp: freePort(), interserver: freePort() };
    await Deno.writeTextFile(`${dir}/config.xml`, config(dir, ports));
    await Deno.writeTextFile(`${dir}/users.xml`, USERS);
    const command = [SERVER, `--config-file=${dir}/config.xml`];
    const logFile = `${dir}/clickhouse.log`;
    const pid = spawnDetached(command, logFile, { cwd: dir });
    ctx.track(pid);
    const url = `http://127.0.0.1:${ports.http}`;
    await waitHealthy({ name: "clickhouse", command, pid, logFile }, async () => {
      const response = await fetch(`${url}/?query=SELECT%201`);
      const body = await response.text();
      return response.ok && body.trim() === "1";
    }, { timeoutMs: 60_000, signal: ctx.signal });
    // Throwaway data: a short grace period, then SIGKILL (18.16 can take 10 s to drain idle keep-alive sockets).
    return {
      name: "clickhouse",
      pids: [pid],
      logFile,
      stopGraceMs: 3_000,
      env: {
        CLICKHOUSE_URL: url,
        CLICKHOUSE_READ_URL: `http://qistream_reader:${READER_PASSWORD}@127.0.0.1:${ports.http}`,
      },
    };
  },
};
