# syntax=docker/dockerfile:1
#
# qistream container image: one self-contained binary built with `deno compile`.
#
#   docker build -t qistream .
#   docker run --rm -p 8080:8080 qistream            # embedded log, no services needed
#
# The build stage runs the `compile` task from deno.json, so the image always builds the binary the same way
# `deno task compile` does on a workstation (tests/compile_test.ts checks that this file keeps calling it).

ARG DENO_VERSION=2.9.6

# ---- build ---------------------------------------------------------------------------------------------------
FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /app

# Dependencies first, so source edits reuse the cached layer.
COPY deno.json deno.lock ./
RUN deno install

# Sources (filtered by .dockerignore), then the binary: dist/qistream.
COPY . .
RUN deno task compile \
  && test -x /app/dist/qistream

# ---- runtime -------------------------------------------------------------------------------------------------
# debian slim rather than distroless: the compiled binary needs glibc, and curl gives Docker a HEALTHCHECK.
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 qistream \
  && useradd --system --uid 10001 --gid qistream --home-dir /app --shell /usr/sbin/nologin qistream \
  && mkdir -p /app/data \
  && chown qistream:qistream /app/data

WORKDIR /app
COPY --from=build --chown=root:root /app/dist/qistream /app/qistream
COPY --chown=root:root pipeline.yaml /app/pipeline.yaml

# Inside a container the HTTP server must listen on all interfaces, not the 127.0.0.1 default.
ENV QISTREAM_HTTP_HOST=0.0.0.0 \
    QISTREAM_HTTP_PORT=8080 \
    QISTREAM_DATA_DIR=/app/data \
    QISTREAM_CONFIG=/app/pipeline.yaml

USER qistream:qistream
VOLUME ["/app/data"]
EXPOSE 8080

# Liveness only (/healthz); readiness (/readyz) is for orchestrators that route traffic.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${QISTREAM_HTTP_PORT}/healthz" > /dev/null || exit 1

ENTRYPOINT ["/app/qistream"]
CMD ["start"]
