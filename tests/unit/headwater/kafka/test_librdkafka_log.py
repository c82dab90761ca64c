"""librdkafka's repeated lines are held back and counted."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

from headwater.kafka.librdkafka_log import LOGGER_NAME, RepeatFilter, librdkafka_logger
from tests.support.services import free_port


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


#: a producer pointed at a closed port, polled for a few seconds: it tries again and again
_CLIENT = textwrap.dedent(
    """
    import sys, time
    from headwater.kafka.clients import make_producer
    from headwater.logs import configure_logging
    from headwater.settings import KafkaSettings

    configure_logging("INFO", "json")
    refusals = []
    settings = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{sys.argv[1]}", security_protocol="PLAINTEXT"
    )
    producer = make_producer(settings, error_cb=lambda error: refusals.append(error.code()))
    deadline = time.monotonic() + 60
    while len(refusals) < 6 and time.monotonic() < deadline:
        producer.poll(0.2)
    print(len(refusals))
    """
)


def test_a_client_that_cannot_connect_logs_json_lines_once_not_raw_lines() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT, str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(done.stderr)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 6  # it did try again and again
    records = [json.loads(line) for line in done.stderr.splitlines()]  # JSON, every one
    refused = [r for r in records if "Connection refused" in r["msg"]]
    assert len(refused) == 1, done.stderr  # the repeats are held back
    assert refused[0]["logger"] == LOGGER_NAME
    assert "headwater#producer" in refused[0]["msg"]  # which client said it
