"""Structured log lines, with secrets scrubbed as a second line of defence."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

REDACTED = "***"

#: The password of a URL's userinfo: ``scheme://user:password@host``.
_URL_PASSWORD = re.compile(
    r"(?P<keep>\b[a-z][a-z0-9+.\-]*://[^:/@\s]+:)[^@\s]+(?=@)", re.IGNORECASE
)
# Shapes that carry credentials even when nobody registered the value as a secret.
_SECRET_SHAPES = (
    _URL_PASSWORD,
    re.compile(r"(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/\-]+=*", re.IGNORECASE),
    re.compile(
        r"(?P<keep>\b(?:password|passwd|passcode|secret|client_secret|refresh_token|"
        r"access_token|developer[-_]token|api[-_]?key)\b[\"']?\s*[=:]\s*[\"']?)[^\s&,\"'}]+",
        re.IGNORECASE,
    ),
)

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` replaced."""
    return _URL_PASSWORD.sub(lambda m: m.group("keep") + REDACTED, text)


class SecretScrubber:
    """Replaces known secret values and credential-shaped substrings with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values to hide."""
        self._secrets = sorted(
            set(self._secrets) | {s for s in secrets if len(s) >= 4}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for shape in _SECRET_SHAPES:
            text = shape.sub(lambda m: m.group("keep") + REDACTED, text)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, exception."""

    def __init__(self, scrub: SecretScrubber) -> None:
        super().__init__()
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self._scrub(record.getMessage()),
        }
        line.update(
            {
                k: self._scrub(v) if isinstance(v, str) else v
                for k, v in vars(record).items()
                if k not in _STANDARD
            }
        )
        if record.exc_info:
            line["exc"] = self._scrub(self.formatException(record.exc_info))
        # Scrubbed before encoding too: JSON escapes a secret holding a quote or a backslash.
        return self._scrub(json.dumps(line, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, scrubbed the same way."""

    def __init__(self, scrub: SecretScrubber) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        text = super().format(record)
        if extra:
            text += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return self._scrub(text)


scrubber = SecretScrubber()


def configure_logging(level: str = "INFO", fmt: str = "json", secrets: Iterable[str] = ()) -> None:
    """Send the root logger's lines to stderr, structured and scrubbed."""
    scrubber.add(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(scrubber) if fmt == "json" else TextFormatter(scrubber))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
