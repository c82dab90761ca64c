"""Keeps a steady rate of row changes against the monotonic clock.

The n-th change is due ``n / rate`` seconds after the start. Waiting for that instant,
rather than sleeping a fixed time per statement, absorbs the time the statements
themselves take, and a slow transaction is caught up by not waiting at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Tells when the next change is due and waits for it; ``rate=None`` never waits."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for as fast as possible)")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self.started = clock()

    def elapsed(self) -> float:
        """Seconds since the start."""
        return self._clock() - self.started

    def due(self, done: int) -> float:
        """Seconds after the start at which change number ``done`` (from 0) is due."""
        return 0.0 if self.rate is None else done / self.rate

    def wait(self, done: int) -> None:
        """Return when change number ``done`` is due (at once when behind schedule)."""
        delay = self.due(done) - self.elapsed()
        if delay > 0:
            self._sleep(delay)
