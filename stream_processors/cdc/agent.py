"""The Faust agent that normalizes every captured table's Debezium topic."""

from __future__ import annotations

import faust

from headwater.settings import Settings
from stream_processors.cdc.normalize import norm_topic, normalize
from stream_processors.relay import relay


def output_topics(settings: Settings) -> list[str]:
    """The norm.cdc.* topics the agent writes, one per captured table."""
    return [norm_topic(*table.split(".", 1)) for table in settings.cdc.tables]


def register(app: faust.App, settings: Settings) -> None:
    """Attach the CDC normalizer to the app."""
    sources = [settings.cdc.topic(table) for table in settings.cdc.tables]
    relay(app, "normalize_cdc", sources, lambda _topic, key, value: normalize(key, value))
