"""What /proc says about a process and its descendants: CPU seconds and resident memory."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state is the first)."""
    text = (PROC / str(pid) / "stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """The process and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue  # gone while we looked
            children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the tree so far, reaped children included (cutime, cstime)."""
    ticks = 0
    for member in descendants(pid):
        try:
            fields = _stat_fields(member)
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / TICKS


def memory_bytes(pid: int, field: str = "VmRSS") -> int:
    """A /proc/<pid>/status memory field (VmRSS now, VmHWM its peak) summed over the tree."""
    total = 0
    for member in descendants(pid):
        try:
            lines = (PROC / str(member) / "status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith(f"{field}:"):
                total += int(line.split()[1]) * 1024  # kB
    return total


class PeakMemory:
    """Samples the resident memory of named processes in a thread; keeps each one's peak.

    ``pids`` is asked again at every sample, so services started later are picked up.
    """

    def __init__(self, pids: Callable[[], Mapping[str, int | None]], interval_s: float = 0.25):
        self._pids = pids
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
        self.peaks: dict[str, int] = {}

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()

    def sample(self) -> None:
        """Read each process's resident memory once."""
        for name, pid in self._pids().items():
            if pid is not None:
                self.peaks[name] = max(self.peaks.get(name, 0), memory_bytes(pid))
