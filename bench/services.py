"""Headwater services run by a benchmark: subprocesses with a log, a metrics port and a pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from bench.proc import memory_bytes


class BenchService:
    """``headwater <args>`` in its own session; stopped with SIGTERM like an operator would."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        with socket.socket() as probe:  # a port nothing listens on right now
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._argv = [sys.executable, "-m", "control.cli.main", *args]
        self._env = env | {"HEADWATER_HTTP__PORT": str(self.port), "HEADWATER_LOG__FORMAT": "text"}
        self.log_path = logs / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The pid while it runs."""
        running = self._process is not None and self._process.poll() is None
        return self._process.pid if running and self._process is not None else None

    def start(self) -> None:
        """Launch it; its output goes to its log file."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv, env=self._env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def check_alive(self) -> None:
        """Raise with the end of its log when it has exited."""
        if self._process is not None and self._process.poll() is not None:
            tail = self.log_path.read_text(errors="replace").splitlines()[-30:]
            raise RuntimeError(
                f"{self.name} exited ({self._process.returncode}); {self.log_path} ends:\n"
                + "\n".join(tail)
            )

    def peak_memory(self) -> int:
        """Its peak resident memory so far (VmHWM, summed over its processes), in bytes."""
        return memory_bytes(self.pid, "VmHWM") if self.pid is not None else 0

    def metrics(self) -> str:
        """The text of its /metrics endpoint."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return str(reply.read().decode())

    def ready(self) -> bool:
        """Whether its /readyz answers 200."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as reply:
                return int(reply.status) == 200
        except OSError:  # not listening yet, or 503
            return False

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM, wait, and SIGKILL its session if it does not exit in time."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
