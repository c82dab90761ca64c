import json
import logging

import pytest

from headwater.logs import JsonFormatter, SecretScrubber, TextFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("headwater.test", logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_registered_secret_values_are_scrubbed() -> None:
    scrub = SecretScrubber(["hunter2-long-secret"])
    line = JsonFormatter(scrub).format(_record("token is hunter2-long-secret", user="bob"))
    parsed = json.loads(line)
    assert parsed["msg"] == "token is ***"
    assert parsed["user"] == "bob"
    assert parsed["level"] == "info"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("connecting to postgresql://loader:pa55word@db:5432/wh", "pa55word"),
        ("Authorization: Bearer ya29.a0AfH6SMBx", "ya29.a0AfH6SMBx"),
        ("url?access_token=EAAB123abc&fields=spend", "EAAB123abc"),
        ('{"client_secret": "GOCSPX-abc"}', "GOCSPX-abc"),
        ("X-CleverTap-Passcode: QWERTY-12", "QWERTY-12"),
        ("password=swordfish", "swordfish"),
    ],
)
def test_credential_shapes_are_scrubbed_without_registration(text: str, leaked: str) -> None:
    line = TextFormatter(SecretScrubber()).format(_record(text))
    assert leaked not in line
    assert "***" in line


def test_exceptions_are_logged_and_scrubbed() -> None:
    scrub = SecretScrubber(["top-secret-value"])
    try:
        raise RuntimeError("failed with top-secret-value")
    except RuntimeError:
        import sys

        record = _record("boom")
        record.exc_info = sys.exc_info()
    parsed = json.loads(JsonFormatter(scrub).format(record))
    assert "RuntimeError" in parsed["exc"]
    assert "top-secret-value" not in parsed["exc"]
