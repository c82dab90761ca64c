"""librdkafka's log lines as the project's log records, instead of raw ``%3|...|FAIL|`` lines.

Every confluent-kafka client the project builds passes :data:`LIBRDKAFKA_LOG` as its
``logger``: a line becomes a record of the ``headwater.kafka.librdkafka`` logger with the
facility and the client's name as fields, formatted and scrubbed like every other line, and
a line repeated while a broker is away is shown once a minute
(:class:`headwater.logs.RepeatLimiter`). The client hands its lines over in ``poll()``.
"""

from __future__ import annotations

import logging
import re

#: the logger librdkafka's lines go to
LOGGER_NAME = "headwater.kafka.librdkafka"

#: the facility of a broker connection that failed or went away: the service decides whether
#: that is an error (it retries, or exits "dependency unavailable"), so it is a warning
_CONNECTION_FAILED = "FAIL"
#: librdkafka's ``[thrd:...]: `` prefix naming the thread that logged
_THREAD = re.compile(r"^\[thrd:[^\]]*\]: ")


class LibrdkafkaLog:
    """A confluent-kafka ``logger``: it has :meth:`log`, the interface the client calls."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(LOGGER_NAME)

    def log(self, level: int, message: str, *args: object) -> None:
        """One line of librdkafka: ``log(level, "%s [%s] %s", facility, client, text)``."""
        if len(args) != 3:  # not librdkafka's shape: pass it on as it came
            self._logger.log(level, message, *args)
            return
        facility, client, text = (str(arg) for arg in args)
        if facility == _CONNECTION_FAILED and level > logging.WARNING:
            level = logging.WARNING
        if self._logger.isEnabledFor(level):
            self._logger.log(
                level,
                _THREAD.sub("", text),
                extra={"facility": facility, "client": client},
            )


#: the logger every client the project builds is given (``headwater.kafka.clients``)
LIBRDKAFKA_LOG = LibrdkafkaLog()
