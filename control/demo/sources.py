"""The pipeline's sources as the demo follows them: their topics, their accounts, and the
processor's normalizer for each (re-run by the reconciliation to know what to look for),
all read from ``headwater.topology``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from headwater.settings import Settings
from headwater.topology import API_SOURCES, ApiSource, load, norm_cdc_topic
from stream_processors.cdc.stage import transform as cdc_transform
from stream_processors.output import Output

CDC_SOURCE = "app database"

#: (source topic, key, value) -> the records the processor writes for it.
Normalizer = Callable[[str, bytes | None, bytes | None], list[Output]]


@dataclass(frozen=True)
class DemoSource:
    """One source: the topics it feeds and the processor writes, its normalizer, its sink."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sink: str
    normalize: Normalizer
    accounts: frozenset[str] | None = None  # whose raw records are this run's (APIs)

    def published_by_us(self, value: bytes | None) -> bool:
        """Whether a record on an input topic comes from this run's producers."""
        if self.accounts is None:
            return True
        try:
            account = str(json.loads(value or b"{}").get("account", ""))
        except (ValueError, AttributeError):
            return False
        return account.removeprefix("act_") in self.accounts


def demo_sources(settings: Settings, pollers: list[str]) -> list[DemoSource]:
    """The sources this run moves: the captured tables, and the polled APIs."""
    tables = [table.split(".", 1) for table in settings.cdc.tables]
    sources = [
        DemoSource(
            CDC_SOURCE,
            tuple(settings.cdc.topic(f"{schema}.{table}") for schema, table in tables),
            tuple(norm_cdc_topic(schema, table) for schema, table in tables),
            "cdc",
            cdc_transform(settings),
        )
    ]
    api_sources = [source for source in API_SOURCES if source.name in pollers]
    return sources + [_api_source(source, settings) for source in api_sources]


def _api_source(source: ApiSource, settings: Settings) -> DemoSource:
    normalizer: Normalizer = load(source.normalizer)(settings)
    return DemoSource(
        source.name,
        source.raw_topics,
        (source.normalized,),
        source.sink,
        normalizer,
        source.accounts(settings),
    )
