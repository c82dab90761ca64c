"""Reading a stateful stage's changelog partition back, oldest entry first."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from headwater.errors import DependencyUnavailable
from headwater.kafka.clients import make_consumer
from headwater.settings import KafkaSettings

_READ_TIMEOUT_S = 120.0


def changelog_topic(app_id: str, store: str) -> str:
    """The changelog topic of one store of the processor."""
    return f"{app_id}-{store}-changelog"


def read_changelog(
    kafka: KafkaSettings, topic: str, partition: int
) -> list[tuple[bytes, bytes | None]]:
    """Every (key, value) of one partition up to its end (when read), in offset order."""
    consumer = make_consumer(
        kafka, group_id=f"restore-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
    )
    deadline = time.monotonic() + _READ_TIMEOUT_S
    try:
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        entries: list[tuple[bytes, bytes | None]] = []
        while True:  # until librdkafka reports the partition's end
            if time.monotonic() > deadline:
                raise DependencyUnavailable(
                    f"changelog {topic}[{partition}] not read within {_READ_TIMEOUT_S:.0f} s"
                )
            for message in consumer.consume(10_000, 0.2):
                error = message.error()
                if error is None:
                    key = message.key()
                    if key is not None:
                        entries.append((key, message.value()))
                elif error.code() == KafkaError._PARTITION_EOF:
                    return entries
                else:
                    raise DependencyUnavailable(f"reading changelog {topic}: {error}")
    finally:
        consumer.close()
