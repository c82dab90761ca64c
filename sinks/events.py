"""``headwater sink app-events``: norm.app.events into ``app_events``."""

from __future__ import annotations

from typing import Any

from sinks.upsert import Column, TableSpec, VersionedUpsertWriter

APP_EVENTS = TableSpec(
    schema="public",
    table="app_events",
    columns=(
        Column("event_id", "text"),
        Column("account_id", "text", nullable=False),
        Column("event_name", "text", nullable=False),
        Column("occurred_at", "timestamptz", nullable=False),
        Column("user_key", "text"),
        Column("platform", "text"),
        Column("utm_source", "text"),
        Column("utm_campaign", "text"),
        Column("campaign_id", "text"),
        Column("amount", "numeric(18,4)"),
        Column("currency", "text"),
        Column("fetched_at", "timestamptz", nullable=False),
    ),
    key=("event_id",),
    version="fetched_at",
)


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return record


def events_writer() -> VersionedUpsertWriter:
    """The writer of the app events table."""
    return VersionedUpsertWriter("app-events", APP_EVENTS, "norm/app_event", _row, insert_only=True)
