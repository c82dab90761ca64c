"""librdkafka's repeated lines are held back and counted."""

from __future__ import annotations

import logging

from headwater.kafka.librdkafka_log import LOGGER_NAME, RepeatFilter, librdkafka_logger


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(LOGGER_NAME, level, "", 0, message, (), None)


def test_a_repeated_line_passes_once_per_window_then_says_how_often_it_came() -> None:
    now = [0.0]
    repeats = RepeatFilter(window_s=60, clock=lambda: now[0])
    refused = "127.0.0.1:1/bootstrap: Connect failed: Connection refused (after {}ms)"
    assert repeats.filter(_record(refused.format(0)))
    for n in range(1, 30):
        now[0] = n
        assert not repeats.filter(_record(refused.format(n)))  # numbers aside, the same
    assert repeats.filter(_record("another line"))
    assert repeats.filter(_record(refused.format(3), logging.WARNING))  # another level
    now[0] = 61
    after = _record(refused.format(61))
    assert repeats.filter(after)
    assert getattr(after, "repeated", None) == 29


def test_every_client_logs_through_one_logger_with_one_filter() -> None:
    logger = librdkafka_logger()
    assert logger is librdkafka_logger()
    assert logger.name == LOGGER_NAME
    assert sum(isinstance(f, RepeatFilter) for f in logger.filters) == 1
