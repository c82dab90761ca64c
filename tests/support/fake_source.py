"""An in-memory Source, for testing the poller without any API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from producers.base import ApiUnavailable, RawRecord, Window


@dataclass
class FakeSource:
    """Two accounts, one row per account and day; an account can be made to fail."""

    name: str = "fake"
    api_version: str = "v0"
    default_lookback_days: int = 3
    account_ids: list[str] = field(default_factory=lambda: ["a1", "a2"])
    failing: set[str] = field(default_factory=set)
    fetched: list[tuple[str, Window]] = field(default_factory=list)

    def accounts(self) -> list[str]:
        return list(self.account_ids)

    def streams(self) -> list[str]:
        return ["daily"]

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        self.fetched.append((account, window))
        for day in window.days():
            if account in self.failing and day == window.until:
                raise ApiUnavailable(f"{account} is down")
            yield RawRecord("daily", account, f"{account}|{day}", {"day": str(day), "n": 1})


def day(text: str) -> date:
    return date.fromisoformat(text)


@dataclass
class RefusingSource(FakeSource):
    """A source whose credentials are refused."""

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        from producers.base import AuthenticationFailed

        raise AuthenticationFailed("Error validating access token: Session has expired (190/463)")
        yield  # pragma: no cover


@dataclass
class CrashingSource(FakeSource):
    """Dies (like a SIGKILL) after fetching some records, before any acknowledgement."""

    crash_after: int = 2

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        for count, record in enumerate(super().fetch(account, window)):
            if count == self.crash_after:
                raise SystemExit("killed between fetch and acknowledgement")
            yield record
