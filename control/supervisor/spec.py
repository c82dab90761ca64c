"""What to supervise and how: the child's command, and the restart policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Exit status of ``headwater`` on a Terminal error (bad setting, refused credentials, usage):
#: starting the same command again cannot fix it.
TERMINAL_EXIT_CODES = frozenset({2})
#: Exit status of ``headwater`` on a Transient error (EX_TEMPFAIL): a dependency it needs
#: (Kafka, the warehouse, Connect) did not answer. Restarted after the backoff for as long as
#: it takes, never given up: the outage is not the service's fault.
DEPENDENCY_EXIT_CODES = frozenset({75})


@dataclass(frozen=True)
class ChildSpec:
    """One long-running process: its name, command line, extra environment and metrics port.

    The extra environment may hold its secrets, so it is left out of the ``repr``.
    """

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    port: int | None = None

    @property
    def metrics_url(self) -> str | None:
        """Where its /metrics answers, when it has a port."""
        return None if self.port is None else f"http://127.0.0.1:{self.port}/metrics"


@dataclass(frozen=True)
class RestartPolicy:
    """Exponential backoff between restarts, and when a crash loop is given up.

    A crash is "fast" when the child ran less than ``stable_after_s``; the backoff grows
    with each fast crash in a row and starts over after a child stayed up that long. After
    ``max_attempts`` fast crashes in a row the child is not started again, unless it exited
    because a dependency was unavailable (``dependency_exit_codes``): that one is restarted
    after the longest backoff until the dependency is back, and does not count as a crash.
    """

    initial_delay_s: float = 1.0
    max_delay_s: float = 30.0
    factor: float = 2.0
    stable_after_s: float = 60.0
    max_attempts: int = 5
    stop_timeout_s: float = 30.0
    terminal_exit_codes: frozenset[int] = TERMINAL_EXIT_CODES
    dependency_exit_codes: frozenset[int] = DEPENDENCY_EXIT_CODES

    def delay(self, fast_crashes: int) -> float:
        """Seconds to wait before the next start, after this many fast crashes in a row."""
        exponent = max(0, fast_crashes - 1)
        return float(min(self.max_delay_s, self.initial_delay_s * self.factor**exponent))
