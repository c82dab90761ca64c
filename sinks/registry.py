"""The table sinks by name, for the CLI."""

from __future__ import annotations

from sinks import ads, events, kpis
from sinks.base import BatchWriter


def writer_and_topics(name: str) -> tuple[BatchWriter, list[str]]:
    """The writer and the topics of a sink."""
    if name == "ad-performance":
        return ads.ads_writer(), ads.TOPICS
    if name == "app-events":
        return events.events_writer(), events.TOPICS
    if name == "kpis":
        return kpis.kpis_writer(), kpis.TOPICS
    raise KeyError(f"no sink named {name!r}")
