"""CleverTap as a poller Source: the configured events of the account, exported day by day.

One export per event name per day, so a failure redoes one day of one event only. Records
go out verbatim, on one stream, ``events`` (topic ``raw.clevertap.events``). A record carries
neither its event name nor an id, so the raw record's key carries both:
``"<event name>|<event id>"`` (see :func:`~headwater.raw.clevertap_key`); the
normalizer reads the event name and the id from the key, and the day of the export from the
record's own ``ts``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Final

from headwater.errors import ConfigurationError
from headwater.raw import clevertap_key
from headwater.settings import CleverTapSettings, Settings
from producers.base import ApiUnavailable, InvalidRequest, RawRecord, Window
from producers.clevertap.client import CleverTapClient, CursorExpired
from producers.clevertap.models import event_id
from producers.transport import api_session

log = logging.getLogger(__name__)

STREAM: Final = "events"


class CleverTapSource:
    """The events export of one CleverTap account, for the poller."""

    name = "clevertap"
    # The path's version (/1/events.json); CleverTap versions its Server API in the path.
    api_version = "1"

    def __init__(
        self,
        settings: CleverTapSettings,
        client: CleverTapClient | None = None,
        max_export_restarts: int = 3,
    ) -> None:
        if not settings.events:
            raise ConfigurationError("HEADWATER_CLEVERTAP__EVENTS", "lists no event to export")
        self.client = client or CleverTapClient.from_settings(settings)
        self.account = self.client.account_id
        self.events = list(settings.events)
        self.default_lookback_days = settings.lookback_days
        self.max_export_restarts = max_export_restarts

    def accounts(self) -> list[str]:
        """The one account the credentials belong to."""
        return [self.account]

    def streams(self) -> list[str]:
        """Every event name goes to one stream; the key says which event it is."""
        return [STREAM]

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        """Every configured event of every day of the window, one export per event and day."""
        if account != self.account:
            raise InvalidRequest(
                f"clevertap: account {account!r} is not the configured {self.account!r}"
            )
        for day in window.days():
            for event_name in self.events:
                yield from self._export_day(event_name, day)

    def _export_day(self, event_name: str, day: date) -> Iterator[RawRecord]:
        """One day of one event; restarted from its first page when its cursor expires.

        A restart yields the day's earlier records again, with the same keys: duplicates that
        the idempotent sinks collapse, never gaps.
        """
        for attempt in range(self.max_export_restarts + 1):
            try:
                yield from self._records(event_name, day)
                return
            except CursorExpired as expired:
                if attempt == self.max_export_restarts:
                    raise ApiUnavailable(
                        f"clevertap: the export of {event_name!r} on {day} lost its cursor "
                        f"{attempt + 1} times; the next run retries it"
                    ) from expired
                log.warning(
                    "export cursor expired; restarting the day",
                    extra={"event_name": event_name, "day": day.isoformat(), "error": str(expired)},
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _records(self, event_name: str, day: date) -> Iterator[RawRecord]:
        # Identical records (same user, second and props) are numbered in export order; being
        # identical, which copy gets which number does not matter, so re-pulls agree.
        occurrences: Counter[str] = Counter()
        for record in self.client.export(event_name, day, day):
            base = event_id(event_name, record)
            occurrence = occurrences[base]
            occurrences[base] += 1
            identifier = event_id(event_name, record, occurrence) if occurrence else base
            yield RawRecord(STREAM, self.account, clevertap_key(event_name, identifier), record)


def build(settings: Settings) -> CleverTapSource:
    """The source as the topology builds it (``headwater.topology.API_SOURCES``)."""
    session = api_session(settings.poller)
    return CleverTapSource(
        settings.clevertap, CleverTapClient.from_settings(settings.clevertap, session=session)
    )
