"""Headwater services as subprocesses, the way an operator runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from headwater.settings import KafkaSettings, Settings, load_settings


def free_port() -> int:
    """A port nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct ports nothing listens on right now (all held at once while choosing)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def headwater(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a `headwater` command to completion, with exactly this environment."""
    return subprocess.run(
        [sys.executable, "-m", "control.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def headwater_with(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a `headwater` command with this process's environment minus its ``HEADWATER_*``
    settings, plus ``env``: the command sees only the settings the test gives it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    return headwater(*args, env=clean | env, timeout=timeout)


class Service:
    """A long-running `headwater` command with its own metrics port and log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.args = args
        self.port = free_port()
        self.env = env | {"HEADWATER_HTTP__PORT": str(self.port), "HEADWATER_LOG__FORMAT": "text"}
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> Service:
        """Launch it (again)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "control.cli.main", *self.args, *extra],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def get(self, path: str) -> tuple[int, str]:
        """GET one of its endpoints; (0, error) when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as reply:
                return int(reply.status), reply.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()
        except OSError as error:
            return 0, str(error)

    def ready(self) -> bool:
        """Whether /readyz answers 200."""
        return self.get("/readyz")[0] == 200

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include the given ones (0 when absent)."""
        status, body = self.get("/metrics")
        if status != 200:
            return 0.0
        total = 0.0
        for line in body.splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            if series.split("{", 1)[0] != name:
                continue
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 30.0) -> float:
        """SIGTERM and wait; returns how long it took to exit."""
        if not self.alive():
            return 0.0
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        return time.monotonic() - started

    def log_tail(self, lines: int = 30) -> str:
        """The end of its log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def kafka_env(kafka: KafkaSettings) -> dict[str, str]:
    """The HEADWATER_KAFKA__* variables that reach the same Kafka the same way as ``kafka``."""
    prefix = "HEADWATER_KAFKA__"
    shared = {"bootstrap_servers", "security_protocol", "sasl_mechanism", "sasl_username"}
    values = kafka.model_dump(include=shared | {"ssl_ca_location"}, exclude_none=True)
    env = {f"{prefix}{name.upper()}": str(value) for name, value in values.items()}
    if kafka.sasl_password is not None:
        env[f"{prefix}SASL_PASSWORD"] = kafka.sasl_password.get_secret_value()
    return env


def settings_from(env: dict[str, str]) -> Settings:
    """The settings a service started with exactly this environment would have."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        return load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
