"""A long-running child process owned by the stack: pid file, log file, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    """The process's command line, or empty when it cannot be read."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait until the process has exited; True if it did within the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


class ManagedProcess:
    """A daemon started in its own session, known by a pid file and a marker in its argv.

    The marker (a path inside the stack's state folder) makes sure ``stop`` never signals
    a process that merely reused a stale pid.
    """

    def __init__(self, name: str, home: Path, marker: str) -> None:
        self.name = name
        self.pid_file = home / f"{name}.pid"
        self.log_file = home / f"{name}.log"
        self.marker = marker

    def pid(self) -> int | None:
        """The pid of our live process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not pid_alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid if self.marker in cmdline(pid) else None

    def running(self) -> bool:
        """Whether our process is alive."""
        return self.pid() is not None

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
        """Launch argv detached from our terminal, logging to the log file."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            child = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        self.pid_file.write_text(f"{child.pid}\n")
        # Until the child has exec'd, /proc shows our own command line, not the marker.
        deadline = time.monotonic() + 10
        while self.marker not in cmdline(child.pid) and child.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return child.pid

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after the timeout."""
        pid = self.pid()
        if pid is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            if wait_gone(pid, wait):
                break
        self.pid_file.unlink(missing_ok=True)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
