"""librdkafka's own log lines, through the project's logging instead of raw ``%3|...`` lines.

The confluent-kafka clients hand librdkafka's logs to the logger in their ``logger``
setting (when the client is polled), at the matching Python level. A broker that does not
answer makes librdkafka say the same thing every second or so; :class:`RepeatFilter` lets the
first through and holds the repeats of a line for a while, then reports how many it held.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

#: the logger every confluent-kafka client of Headwater logs through
LOGGER_NAME = "headwater.kafka.librdkafka"
#: numbers vary between repeats of one message (after 12ms, 3 identical error(s) suppressed)
_NUMBERS = re.compile(r"\d+")


class RepeatFilter(logging.Filter):
    """Passes a message once per ``window_s``; the one after the window carries
    ``repeated``, how many it held back."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.levelno}:{_NUMBERS.sub('#', record.getMessage())}"
        now = self.clock()
        first, held = self._seen.get(key, (None, 0))
        if first is not None and now - first < self.window_s:
            self._seen[key] = (first, held + 1)
            return False
        if held:
            record.repeated = held
        self._seen[key] = (now, 0)
        if len(self._seen) > 1_000:  # many distinct lines: forget the oldest
            oldest = min(self._seen, key=lambda k: self._seen[k][0])
            del self._seen[oldest]
        return True


def librdkafka_logger() -> logging.Logger:
    """The logger to give a confluent-kafka client as its ``logger`` setting."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RepeatFilter) for f in logger.filters):
        logger.addFilter(RepeatFilter())
    return logger
