#!/bin/bash
# The read-only user of qistream's clickhouse.query / clickhouse.describe (docs/tools.md), created by the
# clickhouse-server image on first start (compose.yaml mounts this folder at /docker-entrypoint-initdb.d).
# readonly = 1: no writes, DDL, SET or table functions; no KILL QUERY or source grants (FILE, URL, REMOTE).
set -euo pipefail
clickhouse client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery <<SQL
CREATE USER IF NOT EXISTS qistream_reader IDENTIFIED WITH sha256_password BY '${CLICKHOUSE_READER_PASSWORD}'
  SETTINGS readonly = 1, max_execution_time = 30;
GRANT SELECT ON ${CLICKHOUSE_DB}.* TO qistream_reader;
SQL
