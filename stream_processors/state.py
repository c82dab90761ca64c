"""Reading a stateful stage's changelog partition back, oldest entry first."""

from __future__ import annotations

import uuid

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from headwater.errors import DependencyUnavailable
from headwater.kafka.clients import make_consumer
from headwater.settings import KafkaSettings

_READ_TIMEOUT_S = 60.0


def changelog_topic(app_id: str, store: str) -> str:
    """The changelog topic of one store of the processor."""
    return f"{app_id}-{store}-changelog"


def read_changelog(
    kafka: KafkaSettings, topic: str, partition: int
) -> list[tuple[bytes, bytes | None]]:
    """Every (key, value) of one partition up to its current end, in offset order."""
    consumer = make_consumer(
        kafka, group_id=f"restore-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
    )
    try:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=_READ_TIMEOUT_S
        )
        entries: list[tuple[bytes, bytes | None]] = []
        if high <= low:
            return entries
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        position = low
        while position < high:
            messages = consumer.consume(10_000, _READ_TIMEOUT_S)
            if not messages:
                raise DependencyUnavailable(
                    f"changelog {topic}[{partition}] stopped at {position} of {high}"
                )
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        position = high
                        continue
                    raise DependencyUnavailable(f"reading changelog {topic}: {error}")
                key = message.key()
                if key is not None:
                    entries.append((key, message.value()))
                position = (message.offset() or position) + 1
        return entries
    finally:
        consumer.close()
