"""Telling the stack's Prometheus where the children's /metrics are (file service discovery)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from control.stack.prometheus import PrometheusServer
from headwater.settings import StackSettings

log = logging.getLogger(__name__)


class TargetRegistry(Protocol):
    """Where a supervisor registers its children's metrics endpoints."""

    def register(self, service: str, address: str) -> None:
        """Have ``address`` (host:port) scraped as ``service``."""

    def unregister_all(self) -> None:
        """Remove every target this registry added."""


class PrometheusTargets:
    """Targets files in the native stack's Prometheus ``targets/`` folder, removed on exit.

    When that folder does not exist (no native stack here, e.g. Prometheus from
    docker compose), registering is skipped with one log line: the services still run.
    """

    def __init__(self, settings: StackSettings) -> None:
        self._server = PrometheusServer(settings)
        self._written: dict[Path, str] = {}
        self._warned = False

    @property
    def folder(self) -> Path:
        """The folder Prometheus watches."""
        return self._server.targets

    def register(self, service: str, address: str) -> None:
        """Write ``<service>.json`` naming the address."""
        if not self.folder.is_dir():
            if not self._warned:
                log.info(
                    "no native Prometheus targets folder: services not registered",
                    extra={"folder": str(self.folder)},
                )
                self._warned = True
            return
        path = self._server.register_target(service, address)
        self._written[path] = path.read_text()

    def unregister_all(self) -> None:
        """Delete the files written here, unless someone else has rewritten one since."""
        for path, content in self._written.items():
            try:
                if path.read_text() == content:
                    path.unlink()
            except OSError:
                pass  # already gone
        self._written.clear()
