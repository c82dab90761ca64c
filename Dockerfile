# One image for every Headwater service: the `headwater` CLI is the entrypoint and the
# command picks the service (`process`, `sink cdc`, `poll facebook_ads`, `connectors
# monitor`, `source setup`, ...). docker-compose.yml and deploy/ run it that way.
#
#   docker build -t headwater:0.1.0 .
#   docker run --rm headwater:0.1.0 settings
#
# Every wheel Headwater needs (confluent-kafka, psycopg[binary], fastavro, orjson, cramjam,
# cryptography) is a binary wheel for CPython 3.11 on glibc, so neither stage needs a
# compiler. tests/unit/deploy/test_dockerfile.py lints this file with hadolint and checks
# these rules: pinned base, two stages, runtime dependencies only, non-root, the health
# check on /healthz, `headwater` as the entrypoint.

# --- build: install Headwater (no test or dev extras) into a virtualenv -----------------
FROM python:3.11.13-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/headwater

WORKDIR /src
# Only what the wheel is built from: the metadata and the installable packages.
COPY pyproject.toml README.md ./
COPY control/ control/
COPY headwater/ headwater/
COPY producers/ producers/
COPY stream_processors/ stream_processors/
COPY sinks/ sinks/
COPY connectors/ connectors/
COPY schemas/ schemas/
COPY sandbox/ sandbox/
RUN /opt/headwater/bin/pip install --no-cache-dir . \
    && /opt/headwater/bin/headwater --version

# --- runtime: the virtualenv on the same base, run as an unprivileged user ---------------
FROM python:3.11.13-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="headwater" \
      org.opencontainers.image.description="Streaming ingestion: ad platforms, CleverTap and PostgreSQL CDC into Kafka and a warehouse" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 headwater \
    && useradd --system --uid 10001 --gid headwater --no-create-home \
       --home-dir /var/lib/headwater --shell /usr/sbin/nologin headwater \
    && install -d -o headwater -g headwater -m 0750 /var/lib/headwater

COPY --from=build /opt/headwater /opt/headwater

# HEADWATER_HTTP__HOST: /metrics, /healthz and /readyz listen on every interface of the
# container (its network is the boundary), so Prometheus and the probes reach them.
ENV PATH=/opt/headwater/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEADWATER_HTTP__HOST=0.0.0.0

WORKDIR /var/lib/headwater
USER 10001:10001

# The services' /metrics, /healthz, /readyz ports: 9400 + each service's offset in
# headwater.topology.port_offsets() (processor 9400 ... cdc-monitor 9408).
EXPOSE 9400-9408

# Liveness of whichever service runs: GET /healthz on its own HEADWATER_HTTP__PORT
# (urllib raises on a refused connection or a non-2xx answer: exit 1). No curl needed.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HEADWATER_HTTP__PORT', '9400'), timeout=4)"]

ENTRYPOINT ["headwater"]
CMD ["--help"]
