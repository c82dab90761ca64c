"""One supervised child: its process (own session, log file) and where it is in its life."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from control.supervisor.spec import ChildSpec


class ChildState(StrEnum):
    """Where a child is in its life."""

    RUNNING = "running"
    BACKOFF = "backoff"  # crashed; a restart is scheduled
    STOPPING = "stopping"  # SIGTERM sent by us
    STOPPED = "stopped"  # stopped by us
    FAILED = "failed"  # crash loop or terminal error: not started again


@dataclass(frozen=True)
class ChildStatus:
    """A child as reported in status lines."""

    name: str
    state: ChildState
    pid: int | None
    port: int | None
    starts: int
    last_exit: int | None
    reason: str
    log_path: Path

    @property
    def restarts(self) -> int:
        """How many times it was started again after the first start."""
        return max(0, self.starts - 1)


def describe_exit(code: int) -> str:
    """``exit 1`` or ``killed by SIGKILL``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


class Child:
    """A child process started in its own session, so that its whole group can be signalled."""

    def __init__(self, spec: ChildSpec, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.state = ChildState.STOPPED
        self.starts = 0
        self.fast_crashes = 0
        self.started_at = 0.0
        self.restart_at = 0.0
        self.stop_deadline = 0.0
        self.last_exit: int | None = None
        self.reason = ""

    @property
    def name(self) -> str:
        """The child's name (also its log file's and its Prometheus target's)."""
        return self.spec.name

    @property
    def pid(self) -> int | None:
        """The pid of the live process, if any."""
        return self.process.pid if self.process is not None else None

    def start(self, environment: Mapping[str, str], now: float) -> int:
        """Launch the command, appending its output to the log file; returns the pid."""
        env = dict(environment) | dict(self.spec.env)
        if self.spec.port is not None:
            env["HEADWATER_HTTP__PORT"] = str(self.spec.port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log_path.open("ab") as log:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"--- headwater supervisor: start {self.starts} at {stamp} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                list(self.spec.argv),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.state = ChildState.RUNNING
        self.started_at = now
        self.reason = ""
        return self.process.pid

    def exit_code(self) -> int | None:
        """The exit status once the process has ended (then reaped), else None.

        Whatever the child left behind in its process group is killed before the child is
        reaped: until then the group id cannot be reused, so the signal reaches only ours.
        """
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            try:
                ended = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                ended = None  # already reaped elsewhere: poll() below reports it
            if ended is not None:
                self._signal_group(signal.SIGKILL)
        code = process.poll()
        if code is not None:
            self.process = None
            self.last_exit = code
        return code

    def terminate(self) -> None:
        """SIGTERM to the child's process group."""
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the child's process group."""
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: signal.Signals) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
            os.killpg(self.process.pid, signum)

    def status(self) -> ChildStatus:
        """A snapshot for status lines."""
        return ChildStatus(
            name=self.name,
            state=self.state,
            pid=self.pid,
            port=self.spec.port,
            starts=self.starts,
            last_exit=self.last_exit,
            reason=self.reason,
            log_path=self.log_path,
        )
