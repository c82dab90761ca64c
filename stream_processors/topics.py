"""The topics the processor reads and writes, created before the worker starts."""

from __future__ import annotations

from collections.abc import Sequence

from headwater.dlq import dlq_topic
from headwater.kafka.topics import TopicSpec
from headwater.privacy.retention import api_raw_config, personal_tables, raw_config
from headwater.settings import Settings
from headwater.topology import API_SOURCES, KPIS_DAILY, NORM_ADS, NORM_EVENTS, ApiSource
from stream_processors.base import NORMALIZE
from stream_processors.cdc.stage import output_topics
from stream_processors.kpis.contributions import contributions_topic
from stream_processors.kpis.fold import STORE as KPI_ROWS
from stream_processors.kpis.orders import STORE as ORDER_ROWS
from stream_processors.kpis.stages import STAGE as KPI_STAGE
from stream_processors.kpis.stages import orders_topic
from stream_processors.state import changelog_topic


def processor_topics(
    settings: Settings, sources: Sequence[ApiSource] = API_SOURCES
) -> list[TopicSpec]:
    """Sources (created ahead of their producers, same layout), outputs and the DLQ."""
    replication = settings.kafka.replication_factor
    partitions = settings.processor.partitions
    personal = personal_tables(settings)
    cdc_sources = [
        TopicSpec(
            settings.cdc.topic(table),
            settings.cdc.topic_partitions,
            replication,
            raw_config(settings, True) if table in personal else {"cleanup.policy": "delete"},
        )
        for table in settings.cdc.tables
    ]
    raw_sources = [
        TopicSpec(
            name,
            settings.kafka.default_partitions,
            replication,
            api_raw_config(settings, source.name),
        )
        for source in sources
        for name in source.raw_topics
    ]
    outputs = [
        TopicSpec.compacted(name, partitions, replication)
        for name in dict.fromkeys(
            [
                *output_topics(settings),
                orders_topic(settings),
                *(source.normalized for source in sources),
                NORM_ADS,
                NORM_EVENTS,
                KPIS_DAILY,
            ]
        )
    ]
    contributions = contributions_topic(settings.processor.app_id)
    internal = [TopicSpec(contributions, partitions, replication, {"cleanup.policy": "delete"})]
    changelogs = [
        TopicSpec.compacted(
            changelog_topic(settings.processor.app_id, store), partitions, replication
        )
        for store in (ORDER_ROWS, KPI_ROWS)
    ]
    dead_letters = dead_letter_topics(settings)
    return cdc_sources + raw_sources + outputs + internal + changelogs + dead_letters


def dead_letter_topics(settings: Settings) -> list[TopicSpec]:
    """The DLQ topics of the processor's stages."""
    return [
        TopicSpec(dlq_topic(stage), 1, settings.kafka.replication_factor,
                  {"cleanup.policy": "delete"})
        for stage in (NORMALIZE, KPI_STAGE)
    ]  # fmt: skip
