"""The toy source's producer: a poller Source that lists events per account and day."""

from __future__ import annotations

from collections.abc import Iterator

from headwater.settings import Settings
from producers.base import RawRecord, Window
from tests.support.toy_source.api import TOY_API, ToyApi

STREAM = "events"


class ToyEventsSource:
    """Every account of the toy API, one raw record per event, keyed by the event's id."""

    name = "toy_events"
    api_version = "1"
    default_lookback_days = 1

    def __init__(self, api: ToyApi) -> None:
        self._api = api

    def accounts(self) -> list[str]:
        """Every account the API serves."""
        return self._api.accounts()

    def streams(self) -> list[str]:
        """The one stream it publishes."""
        return [STREAM]

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        """The window's events of the account, verbatim."""
        for event in self._api.events(account, window.since, window.until):
            yield RawRecord(STREAM, account, str(event.get("id", "")), event)


def build(_settings: Settings) -> ToyEventsSource:
    """The source as the topology entry builds it."""
    return ToyEventsSource(TOY_API)
