# syntax=docker/dockerfile:1
# One image for every Headwater service: the entrypoint is the `headwater` CLI and the
# command picks the service (`process`, `sink cdc`, `poll facebook_ads`, ...).
# docs/deployment.md has the table of services, commands and ports.

# --- build: a wheel of the project, installed with its runtime dependencies into a venv ---
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY control ./control
COPY headwater ./headwater
COPY producers ./producers
COPY stream_processors ./stream_processors
COPY sinks ./sinks
COPY connectors ./connectors
COPY schemas ./schemas
COPY sandbox ./sandbox
RUN python -m venv /opt/headwater \
 && /opt/headwater/bin/pip install --no-compile "pip>=24,<26" \
 && /opt/headwater/bin/pip install --no-compile .

# --- runtime: the venv alone, as a user without privileges ---
FROM python:3.11.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="headwater" \
      org.opencontainers.image.source="https://github.com/headwater/headwater" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 headwater \
 && useradd --system --uid 10001 --gid headwater --home-dir /home/headwater --create-home headwater
COPY --from=build /opt/headwater /opt/headwater
ENV PATH=/opt/headwater/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEADWATER_HTTP__HOST=0.0.0.0 \
    HEADWATER_HTTP__PORT=9400
WORKDIR /home/headwater
USER 10001:10001
# /metrics, /healthz and /readyz: 9400 + the service's offset (processor 9400 ... 9408)
EXPOSE 9400-9408
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HEADWATER_HTTP__PORT', '9400') + '/healthz', timeout=4)"]
ENTRYPOINT ["headwater"]
CMD ["--help"]
