"""The batch runner as a service of the Faust worker: started, stopped and watched by it.

The runner blocks on Kafka, so it runs on its own thread; the worker's event loop only
starts it, asks it to stop (it finishes and commits its batch first) and waits for it. If
the runner fails, the worker stops and ``error`` says why.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from mode import Service

from stream_processors.runner import BatchRunner

log = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 25.0


class BatchService(Service):
    """Runs a :class:`BatchRunner` on a thread for as long as the worker runs."""

    def __init__(self, runner: BatchRunner) -> None:
        super().__init__()
        self.runner = runner
        self.error: BaseException | None = None
        self._stop_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self._crashing: asyncio.Future[None] | None = None

    async def on_start(self) -> None:
        """Start the runner's thread."""
        loop = asyncio.get_running_loop()

        def run() -> None:
            try:
                self.runner.run(self._stop_requested)
            except BaseException as error:
                self.error = error
                log.exception("the processor stopped on an error")
                if not self._stop_requested.is_set():
                    loop.call_soon_threadsafe(self._crash_soon, error)

        self._thread = threading.Thread(target=run, name="batch-runner", daemon=True)
        self._thread.start()

    def _crash_soon(self, error: BaseException) -> None:
        self._crashing = asyncio.ensure_future(self.crash(error))

    async def on_stop(self) -> None:
        """Ask the runner to finish its batch, and wait for it."""
        self._stop_requested.set()
        thread = self._thread
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.join, _STOP_TIMEOUT_S)
