"""The small HTTP server every service runs: /metrics, /healthz and /readyz."""

from __future__ import annotations

import json
import logging
import platform
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase

from headwater.errors import ConfigurationError

ReadinessCheck = Callable[[], bool]

log = logging.getLogger(__name__)

BUILD_INFO = Gauge("headwater_build_info", "The running build (always 1)", ["version", "python"])


def series(metric: MetricWrapperBase) -> str:
    """The name a metric's samples carry on /metrics: a counter's ends in ``_total``.

    Whoever reads /metrics (``headwater status``, the demo, the dashboards) names a metric by
    the object that declares it, never by a copy of its name.
    """
    (family,) = metric.describe()
    return f"{family.name}_total" if family.type == "counter" else family.name


def build_version() -> str:
    """The installed Headwater distribution's version."""
    try:
        return version("headwater")
    except PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


BUILD_INFO.labels(build_version(), platform.python_version()).set(1)


class HealthServer:
    """Serves metrics, liveness and readiness on a background thread."""

    def __init__(
        self,
        host: str,
        port: int,
        checks: Mapping[str, ReadinessCheck] | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._checks = dict(checks or {})
        self._registry = registry
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler())
        except OSError as error:
            raise ConfigurationError(
                "HEADWATER_HTTP__PORT", f"cannot listen on {host}:{port}: {error.strerror}"
            ) from error
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-http", daemon=True
        )

    @property
    def port(self) -> int:
        """The port actually bound (useful when 0 asked for any free port)."""
        return int(self._server.server_address[1])

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        """Add a readiness condition; /readyz answers 200 only when all hold."""
        self._checks[name] = check

    def readiness(self) -> dict[str, bool]:
        """Run every readiness check; a check that raises counts as not ready."""
        results: dict[str, bool] = {}
        for name, check in self._checks.items():
            try:
                results[name] = bool(check())
            except Exception as error:  # a failing check is a "no", and is logged
                log.warning("readiness check failed", extra={"check": name, "error": str(error)})
                results[name] = False
        return results

    def start(self) -> HealthServer:
        """Start serving in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(server._registry), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._json(200, {"status": "ok"})
                elif path == "/readyz":
                    checks = server.readiness()
                    ready = all(checks.values())
                    self._json(200 if ready else 503, {"ready": ready, "checks": checks})
                else:
                    self._json(404, {"error": f"no such path {path}"})

            def _json(self, status: int, body: dict[str, Any]) -> None:
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http " + format, *args)

        return Handler
