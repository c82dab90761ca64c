"""Where a sink starts: its offsets in the warehouse, set by a test before it runs."""

from __future__ import annotations

import psycopg
from confluent_kafka import TopicPartition

from headwater.kafka.clients import make_consumer
from headwater.settings import Settings
from sinks.offsets import OffsetStore


def start_at_end(settings: Settings, group: str, topic: str) -> None:
    """Position a new sink at the topic's end: it lands only what this test produces."""
    consumer = make_consumer(settings.kafka, f"{group}-probe")
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {
            (topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        }
    finally:
        consumer.close()
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value()) as connection:
        OffsetStore.prepare(connection)
        OffsetStore(group).save(connection, ends)
