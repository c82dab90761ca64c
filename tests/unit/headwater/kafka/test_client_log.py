"""librdkafka's lines go through the project's logging: JSON, named, repeats held back."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

from headwater.kafka.client_log import LOGGER_NAME, LibrdkafkaLog
from headwater.logs import RepeatLimiter
from tests.support.services import free_port

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
    failures = [r for r in records if r["logger"] == LOGGER_NAME and r.get("facility") == "FAIL"]
    assert len(failures) == 1, done.stderr  # the repeats are held back
    assert failures[0]["level"] == "warning"  # the service decides whether that is an error
    assert "Connection refused" in failures[0]["msg"]
    assert not failures[0]["msg"].startswith("[thrd:")
    assert failures[0]["client"].startswith("headwater#producer")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_repeats_differing_only_in_numbers_are_counted_and_shown_after_the_window() -> None:
    now = [0.0]
    handler = _Records()
    handler.addFilter(RepeatLimiter(window_s=60, clock=lambda: now[0]))
    kafka = LibrdkafkaLog(_logger(f"{LOGGER_NAME}.test", handler))
    other = _logger("headwater.test_client_log", handler)

    for attempt in range(5):
        now[0] = attempt * 10.0
        kafka.log(
            40, "%s [%s] %s", "FAIL", "c#producer-1", f"[thrd:b]: b: refused (after {attempt}ms)"
        )
        other.error("the same line")
    now[0] = 61.0
    kafka.log(40, "%s [%s] %s", "FAIL", "c#producer-1", "[thrd:b]: b: refused (after 9ms)")
    kafka.log(30, "%s [%s] %s", "REQTMOUT", "c#producer-1", "[thrd:b]: b: timed out")

    shown = [
        (r.name, r.levelno, r.getMessage(), getattr(r, "repeated", 0)) for r in handler.records
    ]
    name = f"{LOGGER_NAME}.test"
    assert shown == [
        (name, logging.WARNING, "b: refused (after 0ms)", 0),
        *[("headwater.test_client_log", logging.ERROR, "the same line", 0)] * 5,
        (name, logging.WARNING, "b: refused (after 9ms)", 4),
        (name, logging.WARNING, "b: timed out", 0),
    ]
