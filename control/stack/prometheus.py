"""Prometheus from Debian's package, scraping itself and every registered Headwater service."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from control.stack.base import Component, Port, write_if_changed
from control.stack.process import ManagedProcess
from control.stack.toolchain import ensure_debian_package
from headwater.settings import StackSettings

PROMETHEUS_BIN = Path("/usr/bin/prometheus")
RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"


class PrometheusServer(Component):
    """A private Prometheus: own config, TSDB folder and port; targets from files."""

    name = "prometheus"

    def __init__(self, settings: StackSettings) -> None:
        super().__init__(settings)
        self.process = ManagedProcess(self.name, self.home, str(self.home))
        self.config = self.home / "prometheus.yml"
        self.targets = self.home / "targets"

    @property
    def endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.prometheus_port}"

    def ports(self) -> list[Port]:
        return [Port("HEADWATER_STACK__PROMETHEUS_PORT", self.settings.prometheus_port)]

    def prepare(self) -> None:
        ensure_debian_package("prometheus", PROMETHEUS_BIN, self.settings.install_packages)
        self.targets.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
            "rule_files": [str(RULES_DIR / "*.yml")],
            "scrape_configs": [
                {
                    "job_name": "prometheus",
                    "static_configs": [
                        {"targets": [f"{self.settings.host}:{self.settings.prometheus_port}"]}
                    ],
                },
                {
                    "job_name": "headwater",
                    "file_sd_configs": [
                        {"files": [str(self.targets / "*.json")], "refresh_interval": "5s"}
                    ],
                },
            ],
        }
        # JSON is YAML: no YAML writer needed.
        write_if_changed(self.config, json.dumps(config, indent=2) + "\n")

    def register_target(self, service: str, address: str) -> Path:
        """Have Prometheus scrape a service's /metrics (file-based service discovery)."""
        path = self.targets / f"{service}.json"
        write_if_changed(path, json.dumps([{"targets": [address], "labels": {"service": service}}]))
        return path

    def registered_targets(self) -> list[tuple[str, str]]:
        """(service, host:port) of every registered target."""
        return read_targets(self.targets)

    def running(self) -> bool:
        return self.process.running()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/-/ready", timeout=3) as reply:
                return int(reply.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def start(self) -> None:
        self.process.start(
            [
                str(PROMETHEUS_BIN),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.home / 'data'}",
                "--storage.tsdb.retention.time=2d",
                f"--web.listen-address={self.settings.host}:{self.settings.prometheus_port}",
                "--web.enable-lifecycle",
            ]
        )

    def stop(self) -> None:
        self.process.stop()

    @property
    def log_file(self) -> Path:
        return self.process.log_file


def read_targets(folder: Path) -> list[tuple[str, str]]:
    """(service, host:port) of the target files in a file-discovery folder, as
    :meth:`PrometheusServer.register_target` writes them; unreadable files are skipped."""
    targets: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            for group in json.loads(path.read_text()):
                service = str(group.get("labels", {}).get("service", path.stem))
                targets += [(service, str(address)) for address in group["targets"]]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # being rewritten, or not ours
    return targets
