"""How a long-running process learns to stop: SIGTERM or SIGINT set an event; a second one
can mean "stop now"."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(on_repeat: Callable[[], None] | None = None) -> Iterator[threading.Event]:
    """An event the first SIGTERM/SIGINT sets; a second one calls ``on_repeat``.

    Outside the main thread (where Python cannot install handlers) the event is only set
    by the caller.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(number: int, _frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if stop.is_set() and on_repeat is not None:
            log.warning("second stop signal: killing what is left", extra={"signal": name})
            on_repeat()
            return
        log.info("stop requested", extra={"signal": name})
        stop.set()

    previous = {number: signal.signal(number, handle) for number in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
