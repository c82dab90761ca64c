"""A service's loop on a thread, as its command runs it, stopped and checked by the test."""

from __future__ import annotations

import threading
from typing import Generic, Protocol, TypeVar


class Runs(Protocol):
    """Anything with the services' loop: ``run(stop)`` until the event is set."""

    def run(self, stop: threading.Event) -> None: ...


R = TypeVar("R", bound=Runs)


class Worker(Generic[R]):
    """``runner.run(stop)`` on a daemon thread; ``close()`` stops it and re-raises its error."""

    def __init__(self, runner: R) -> None:
        self.runner = runner
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.runner.run(self.stop)
        except BaseException as error:  # handed to the test by close()
            self.error = error

    def close(self) -> None:
        """Stop the loop, wait for it, and fail if it raised."""
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.error is None, self.error
