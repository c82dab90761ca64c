"""The warehouse sinks of the topology, built by name."""

from __future__ import annotations

from collections.abc import Callable

from headwater.settings import Settings
from headwater.topology import load, sink
from sinks.base import BatchWriter


def writer_and_topics(name: str, settings: Settings) -> tuple[BatchWriter, list[str]]:
    """The writer and the topics (or the one topic regex) of a sink; KeyError if unknown."""
    entry = sink(name)
    factory: Callable[[Settings], BatchWriter] = load(entry.writer)
    return factory(settings), entry.topics(settings)
