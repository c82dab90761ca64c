"""The topics the processor reads and writes, created before the worker starts."""

from __future__ import annotations

from headwater.dlq import dlq_topic
from headwater.kafka.topics import TopicSpec
from headwater.settings import Settings
from stream_processors.cdc.agent import STAGE as NORMALIZE
from stream_processors.cdc.agent import output_topics


def processor_topics(settings: Settings) -> list[TopicSpec]:
    """Sources (created ahead of Debezium, same layout), outputs (compacted) and DLQs."""
    replication = settings.kafka.replication_factor
    sources = [
        TopicSpec(
            settings.cdc.topic(table),
            settings.cdc.topic_partitions,
            replication,
            {"cleanup.policy": "delete"},
        )
        for table in settings.cdc.tables
    ]
    outputs = [
        TopicSpec.compacted(name, settings.processor.partitions, replication)
        for name in output_topics(settings)
    ]
    dead_letters = [TopicSpec(dlq_topic(NORMALIZE), 1, replication, {"cleanup.policy": "delete"})]
    return sources + outputs + dead_letters
