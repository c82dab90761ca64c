"""``headwater sink app-events``: norm.app.events into ``app_events``."""

from __future__ import annotations

from headwater.settings import Settings
from sinks.upsert import TableSpec, VersionedUpsertWriter

APP_EVENTS = TableSpec(
    schema="public",
    table="app_events",
    record="norm/app_event",
    key=("event_id",),
    version="fetched_at",
)


def events_writer(_settings: Settings) -> VersionedUpsertWriter:
    """The writer of the app events table."""
    return VersionedUpsertWriter("app-events", APP_EVENTS, insert_only=True)
