"""The stage that normalizes every captured table's Debezium topic."""

from __future__ import annotations

from headwater.settings import Settings
from headwater.topology import norm_cdc_topic
from stream_processors.base import NORMALIZE, Stage, Transform, TransformStage
from stream_processors.cdc.normalize import normalize
from stream_processors.cdc.privacy import CdcPrivacy


def output_topics(settings: Settings) -> list[str]:
    """The norm.cdc.* topics the stage writes, one per captured table."""
    return [norm_cdc_topic(*table.split(".", 1)) for table in settings.cdc.tables]


def transform(settings: Settings) -> Transform:
    """Debezium events into CdcRow records, with the CDC column policy applied."""
    privacy = CdcPrivacy(settings)
    return lambda _topic, key, value: privacy(normalize(key, value))


def stage(settings: Settings) -> Stage:
    """The CDC normalizer."""
    sources = [settings.cdc.topic(table) for table in settings.cdc.tables]
    return TransformStage("normalize_cdc", NORMALIZE, sources, transform(settings))
