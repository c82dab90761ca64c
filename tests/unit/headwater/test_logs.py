import json
import logging

import pytest

from headwater.logs import JsonFormatter, SecretScrubber, TextFormatter, mask_url_credentials


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


def test_url_passwords_are_masked_and_the_rest_of_the_url_kept() -> None:
    text = 'x "postgresql://loader:pa55@db:5432/wh" and https://user:tok%40en@api.example/v1'
    assert mask_url_credentials(text) == (
        'x "postgresql://loader:***@db:5432/wh" and https://user:***@api.example/v1'
    )
    assert mask_url_credentials("http://127.0.0.1:18083/connectors") == (
        "http://127.0.0.1:18083/connectors"
    )


def test_a_secret_json_would_escape_is_scrubbed_from_message_extras_and_exception() -> None:
    secret = 'se"cr\\et-value'
    scrub = SecretScrubber([secret])
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        import sys

        record = _record(f"msg {secret}", detail=f"extra {secret}", count=3)
        record.exc_info = sys.exc_info()
    line = JsonFormatter(scrub).format(record)
    parsed = json.loads(line)
    assert secret not in line
    assert parsed["msg"] == "msg ***"
    assert parsed["detail"] == "extra ***"
    assert parsed["count"] == 3
    assert "***" in parsed["exc"]
