# syntax=docker/dockerfile:1
#
# luxlog in a container: supercronic (PID 1) runs the jobs in ./crontab, in UTC.
#
#   docker build -t lux-logger .
#   docker run -d --env-file .env -v ./data:/app/data -v ./logs:/app/logs lux-logger
#
# Multi-arch: `docker buildx build --platform linux/amd64,linux/arm64 -t lux-logger .`
# (a Raspberry Pi 4/5 with a 64-bit OS is linux/arm64). 32-bit Raspberry Pi OS is linux/arm/v7:
#   docker buildx build --platform linux/arm/v7 \
#     --build-arg SUPERCRONIC_SHA1SUM_arm=<sha1 of supercronic-linux-arm> -t lux-logger .
# Podman: `podman build --format docker ...`, or the OCI format drops the HEALTHCHECK.

# ---------------------------------------------------------------------- web vendor stage
# The dashboard's chart library (uPlot), exactly as pinned by web/package-lock.json; install
# scripts are not run. Only its two dist files and its MIT licence reach the package (as
# make vendor copies them).
FROM node:20.19.5-bookworm-slim AS web

WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------- build stage
FROM python:3.12.11-slim-bookworm AS build

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# supercronic: a pinned release, verified against the SHA1SUMs published with it (the
# release page lists sha1sums for each asset; sha1 is what aptible publishes).
ARG SUPERCRONIC_VERSION=v0.2.34
ARG SUPERCRONIC_SHA1SUM_amd64=e8631edc1775000d119b70fd40339a7238eece14
ARG SUPERCRONIC_SHA1SUM_arm64=4ab6343b52bf9da592e8b4bb7ae6eb5a8e21b71e
# linux/arm/v7 (TARGETARCH arm) downloads supercronic-linux-arm. Its SHA1 is NOT pinned here:
# it could not be verified from the release's published sums when this was written, and a
# checksum is never guessed. Pass it from the v0.2.34 release page with --build-arg; without
# it an arm build stops instead of installing an unchecked binary.
ARG SUPERCRONIC_SHA1SUM_arm=
# Set by BuildKit to the architecture being built (amd64, arm64, ...).
ARG TARGETARCH

# Python's urllib fetches the binary, so the build stage needs no curl or wget either.
RUN arch="${TARGETARCH:-$(dpkg --print-architecture)}" \
    && case "${arch}" in \
         amd64) sum="${SUPERCRONIC_SHA1SUM_amd64}" ;; \
         arm64) sum="${SUPERCRONIC_SHA1SUM_arm64}" ;; \
         arm) sum="${SUPERCRONIC_SHA1SUM_arm}" ;; \
         *) echo "supercronic: no pinned checksum for architecture ${arch}" >&2; exit 1 ;; \
       esac \
    && if [ -z "${sum}" ]; then \
         echo "supercronic: give --build-arg SUPERCRONIC_SHA1SUM_${arch}=<sha1 from the ${SUPERCRONIC_VERSION} release page>" >&2; \
         exit 1; \
       fi \
    && url="https://github.com/aptible/supercronic/releases/download/${SUPERCRONIC_VERSION}/supercronic-linux-${arch}" \
    && python -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
         "${url}" /tmp/supercronic \
    && echo "${sum}  /tmp/supercronic" | sha1sum -c - \
    && install -m 0755 /tmp/supercronic /usr/local/bin/supercronic \
    && rm /tmp/supercronic

# luxlog as a wheel, installed with its dependencies into a self-contained virtualenv; only
# that virtualenv reaches the final image (no source tree, no pip cache, no build tools).
# The web extra (luxlog serve, the compose web service) is always installed. LUXLOG_EXTRAS:
# more extras, comma-separated; `push` (psycopg, ~10 MB) for `luxlog push`
# to a central PostgreSQL: docker build --build-arg LUXLOG_EXTRAS=push -t lux-logger .
ARG LUXLOG_EXTRAS=
COPY pyproject.toml README.md /src/
COPY src /src/src
COPY --from=web /web/node_modules/uplot/dist/uPlot.iife.min.js \
     /web/node_modules/uplot/dist/uPlot.min.css /src/src/luxlog/web/static/vendor/
COPY --from=web /web/node_modules/uplot/LICENSE /src/src/luxlog/web/static/vendor/uPlot.LICENSE
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels /src \
    && python -m venv /opt/luxlog \
    && wheel="$(echo /wheels/luxlog-*.whl)" \
    && /opt/luxlog/bin/pip install --no-cache-dir "${wheel}[web${LUXLOG_EXTRAS:+,${LUXLOG_EXTRAS}}]" \
    && /opt/luxlog/bin/pip uninstall --yes pip \
    && /opt/luxlog/bin/luxlog --help > /dev/null

# -------------------------------------------------------------------------- runtime stage
FROM python:3.12.11-slim-bookworm

# OCI annotations (docker inspect, registries); the version follows pyproject.toml's
ARG LUXLOG_VERSION=0.1.0
LABEL org.opencontainers.image.title="luxlog" \
      org.opencontainers.image.description="Resilient, read-only data logger for Luxtronik 2.x heat-pump controllers" \
      org.opencontainers.image.version="${LUXLOG_VERSION}" \
      org.opencontainers.image.licenses="MIT"

# TZ=UTC is the scheduler's zone (DESIGN.md §2.6): never set TZ to a local zone here, the
# 30-second poll would skip an hour at the autumn DST change. Reports use LUXLOG_TIMEZONE.
ENV TZ=UTC \
    PATH=/opt/luxlog/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LUXLOG_CACHE_PATH=/app/data/luxlog.db \
    LUXLOG_OUTPUT_DIRS=/app/logs

# uid/gid 1000: the usual first user on a Linux host, so `mkdir data logs` there just works.
RUN groupadd --gid 1000 luxlog \
    && useradd --uid 1000 --gid luxlog --no-create-home --home-dir /app \
         --shell /usr/sbin/nologin luxlog \
    && mkdir -p /app/data /app/logs \
    && chown luxlog:luxlog /app/data /app/logs

COPY --from=build /usr/local/bin/supercronic /usr/local/bin/supercronic
COPY --from=build /opt/luxlog /opt/luxlog
COPY crontab /app/crontab

WORKDIR /app
USER 1000:1000

# Directories, not files: SQLite's -wal and -shm files live next to the database and are
# part of it; a single-file mount would lose them on every container restart. Mount both
# (-v ./data:/app/data -v ./logs:/app/logs): a `docker run` without -v gets a new anonymous
# volume each time, so after `docker rm` and a new `docker run` (an upgrade) the history
# seems gone (it sits in an orphaned volume: `docker volume ls -f dangling=true`).
# The data directory must be on a local filesystem: SQLite's WAL needs shared memory and
# locks that NFS/SMB do not provide reliably.
VOLUME ["/app/data", "/app/logs"]

# --quick skips the controller and the integrity check: it reads the database (last poll,
# buffer backlog, overdue reports), the disk and the output directories. The start period
# covers the first poll (the database does not exist before it).
HEALTHCHECK --interval=5m --timeout=60s --start-period=2m --retries=2 \
    CMD ["luxlog", "doctor", "--quick"]

# supercronic as PID 1: it reaps orphaned processes, waits for running jobs on SIGTERM, and
# logs to stdout/stderr; -passthrough-logs keeps luxlog's own one-line log events as they are.
ENTRYPOINT ["supercronic", "-passthrough-logs"]
CMD ["/app/crontab"]
