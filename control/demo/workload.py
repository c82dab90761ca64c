"""The source-database workload on a thread, at a steady rate, until the demo stops it."""

from __future__ import annotations

import logging
import secrets
import threading

from sandbox.workload import WorkloadStats, run_workload

log = logging.getLogger(__name__)


class Workload:
    """Inserts, updates and deletes customers and orders in the background."""

    def __init__(self, dsn: str, rate: float, schema: str) -> None:
        self._dsn = dsn
        self.rate = rate
        self._schema = schema
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats: WorkloadStats | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start changing rows."""
        self._thread = threading.Thread(target=self._run, name="workload", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.stats = run_workload(
                self._dsn,
                rate=self.rate or None,
                schema=self._schema,
                seed=secrets.randbelow(2**31),  # different changes every run
                stop=self._stop,
            )
        except Exception as error:  # reported on screen and in the exit status
            log.exception("the workload failed")
            self.error = error

    def stop(self) -> None:
        """Stop after the current transaction, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def describe(self) -> str:
        """For the live view's header."""
        if self.error is not None:
            return f"workload FAILED: {self.error}"
        if self._thread is None:
            return f"workload {self.rate:g} changes/s (not started)"
        state = "stopped" if self._stop.is_set() else "running"
        return f"workload {self.rate:g} changes/s ({state})"

    def summary(self) -> str:
        """What it committed."""
        if self.error is not None:
            return f"workload: FAILED: {self.error}"
        if self.stats is None:
            return "workload: did not run"
        return self.stats.summary()
