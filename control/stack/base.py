"""The contract of a stack component, and the stack's errors."""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from control.stack.process import log_tail
from headwater.errors import ConfigurationError, Terminal
from headwater.settings import StackSettings


class StackError(Terminal):
    """The local stack cannot be brought up as asked; the message says what to do."""


class State(StrEnum):
    """What ``stack status`` reports for a component."""

    UP = "up"
    STARTING = "starting"
    DOWN = "down"


@dataclass(frozen=True)
class Port:
    """A port a component binds, and the setting that chooses it."""

    setting: str
    number: int


class Component(ABC):
    """One server of the stack, started from and owned by the state folder."""

    name: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = (settings.state_dir / self.name).resolve()

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """Where clients reach the component."""

    @abstractmethod
    def ports(self) -> list[Port]:
        """The ports the component binds."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Install, fetch or initialise what starting needs; idempotent."""

    def outdated(self) -> bool:
        """Whether its configuration file differs from the one :meth:`prepare` would write
        (a stack made by an older Headwater), so a running process must restart."""
        return False

    @abstractmethod
    def running(self) -> bool:
        """Whether a process this stack started is alive."""

    @abstractmethod
    def ready(self) -> bool:
        """Whether the component answers clients the way the pipeline needs."""

    @abstractmethod
    def start(self) -> None:
        """Launch the process; returns without waiting for readiness."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the process this stack started, and nothing else."""

    @property
    @abstractmethod
    def log_file(self) -> Path:
        """Where the component's process writes its log."""

    def log_tail(self) -> str:
        """The end of the component's log, to explain a failure."""
        return log_tail(self.log_file)

    def state(self) -> State:
        """Up, starting (alive but not answering) or down."""
        if not self.running():
            return State.DOWN
        return State.UP if self.ready() else State.STARTING

    def check_ports_free(self) -> None:
        """Fail with the setting's name when another process holds one of our ports."""
        for port in self.ports():
            if not port_is_free(self.settings.host, port.number):
                raise ConfigurationError(
                    port.setting,
                    f"{self.settings.host}:{port.number} is in use by another process "
                    f"(needed by {self.name}); stop it or choose another port",
                )


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def write_if_changed(path: Path, text: str) -> None:
    """Write a generated config file, leaving it alone when the content is the same."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
