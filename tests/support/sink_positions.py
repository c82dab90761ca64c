"""Where a sink starts: its offsets in the warehouse, set by a test before it runs."""

from __future__ import annotations

import uuid

import psycopg
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from headwater.kafka.clients import make_consumer
from headwater.settings import Settings
from sinks.offsets import OffsetStore
from tests.conftest import wait_for

#: What a broker answers about a partition whose leader is not elected yet.
NOT_READY = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TIMED_OUT,
}


def topic_ends(settings: Settings, topic: str) -> dict[tuple[str, int], int]:
    """The end offset of every partition of the topic.

    A topic created a moment ago may not have its partition leaders yet: the ends are asked
    again until the broker knows them.
    """
    consumer = make_consumer(settings.kafka, f"probe-{uuid.uuid4().hex}")

    def ends() -> dict[tuple[str, int], int] | None:
        try:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            if metadata.error is not None or not metadata.partitions:
                return None
            return {
                (topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in metadata.partitions
            }
        except KafkaException as error:
            if error.args[0].retriable() or error.args[0].code() in NOT_READY:
                return None
            raise

    try:
        return wait_for(ends, timeout_s=60, interval_s=0.5, what=f"the end of {topic}")
    finally:
        consumer.close()


def start_at_end(settings: Settings, group: str, topic: str) -> None:
    """Position a new sink at the topic's end: it lands only what this test produces."""
    positions = topic_ends(settings, topic)
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value()) as connection:
        OffsetStore.prepare(connection)
        OffsetStore(group).save(connection, positions)
