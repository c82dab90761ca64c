"""The poller contract: a Source fetches a window of days for an account, verbatim.

A source (``producers/<name>/source.py``) only talks to its API: it yields the API's JSON
objects, untouched, as :class:`RawRecord`. The :class:`~producers.poller.Poller` does the
rest for every source alike: the schedule, the lookback window re-pulled on every run
(platforms restate recent days), the envelope, publishing to ``raw.<source>.<stream>``,
and the durable cursor that advances only after Kafka acknowledged the records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from headwater.errors import Terminal, Transient


class SourceError(Exception):
    """Root of the errors a source raises; each is also Transient or Terminal."""


class ApiUnavailable(SourceError, Transient):
    """The API failed in a way retrying may fix (5xx, timeouts, transient error codes)."""


class RateLimited(SourceError, Transient):
    """The API throttled us; ``retry_after_s`` says how long to wait when it told us."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QuotaExhausted(SourceError, Terminal):
    """A quota that will not come back soon (e.g. a developer-token quota for hours): alert."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AuthenticationFailed(SourceError, Terminal):
    """Bad, expired or revoked credentials: a person must fix them."""


class CertificateRefused(SourceError, Terminal):
    """The API's TLS certificate did not verify (another CA, another host name, a proxy):
    retrying cannot help; a person fixes the URL or ``HEADWATER_POLLER__CA_FILE``."""


class InvalidRequest(SourceError, Terminal):
    """The API refused the request as malformed (bad field, bad account id, sunset version)."""


class RecordTooLarge(SourceError, Terminal):
    """The API returned a record larger than Kafka takes: a person decides (raise the topic's
    and the producer's limits, or have the API return less)."""


@dataclass(frozen=True)
class Window:
    """An inclusive range of days, in the account's reporting timezone."""

    since: date
    until: date

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError(f"window ends ({self.until}) before it starts ({self.since})")

    def days(self) -> Iterator[date]:
        """Each day of the window."""
        day = self.since
        while day <= self.until:
            yield day
            day += timedelta(days=1)

    def chunks(self, max_days: int) -> Iterator[Window]:
        """Consecutive sub-windows of at most ``max_days`` days."""
        start = self.since
        while start <= self.until:
            end = min(self.until, start + timedelta(days=max_days - 1))
            yield Window(start, end)
            start = end + timedelta(days=1)

    def as_dict(self) -> dict[str, str]:
        """ISO dates, for the envelope."""
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


@dataclass(frozen=True)
class RawRecord:
    """One JSON object exactly as the API returned it, and where it belongs.

    ``request`` holds request parameters the payload itself lacks (CleverTap records do not
    carry their event name); the envelope keeps them beside the payload.
    """

    stream: str
    account: str
    key: str
    payload: dict[str, Any]
    request: dict[str, str] = field(default_factory=dict)


class Source(Protocol):
    """What the poller needs from one API."""

    name: str
    api_version: str
    default_lookback_days: int

    def accounts(self) -> list[str]:
        """The accounts (ad accounts, customer ids, the CleverTap account) to poll."""
        ...

    def streams(self) -> list[str]:
        """The streams this source publishes (``raw.<source>.<stream>`` topics)."""
        ...

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        """Every record of the window for the account, all pages; raises SourceErrors."""
        ...
