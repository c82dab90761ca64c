"""Writing records to a test's own topics and reading them back whole, on the real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence

from confluent_kafka import Message, TopicPartition

from headwater.kafka.clients import make_consumer, make_producer
from headwater.settings import Settings
from stream_processors.runner import PARTITIONER
from tests.conftest import wait_for

#: A record to produce: key, value and headers.
Record = tuple[bytes | None, bytes | None, Sequence[tuple[str, bytes]]]
#: What the tests' producers and topics accept: bad inputs include 10 MB values.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def fill(settings: Settings, topic: str, records: Iterable[Record]) -> None:
    """Produce the records in order (keyed ones partitioned as the processor does)."""
    producer = make_producer(
        settings.kafka, partitioner=PARTITIONER, **{"message.max.bytes": MAX_MESSAGE_BYTES}
    )
    for key, value, headers in records:
        producer.produce(topic, value, key, headers=list(headers))
    assert producer.flush(60) == 0


def read_all(
    settings: Settings,
    topic: str,
    partitions: int = 1,
    start: Mapping[int, int] | None = None,
) -> list[Message]:
    """Every record of the topic (from ``start`` per partition, else the beginning) up to
    the end it has when called."""
    consumer = make_consumer(settings.kafka, f"read-{uuid.uuid4().hex}")
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts}
        positions = {p: (start or {}).get(p, 0) for p in ends}
        consumer.assign([TopicPartition(topic, p, positions[p]) for p in ends])
        messages: list[Message] = []

        def done() -> bool:
            while not all(positions[p] >= end for p, end in ends.items()):
                batch = consumer.consume(1000, 0.5)
                if not batch:
                    return False  # nothing came for a while: wait_for waits, then asks again
                for message in batch:
                    if message.error() is None:
                        messages.append(message)
                        positions[message.partition() or 0] = (message.offset() or 0) + 1
            return True

        wait_for(done, timeout_s=60, what=f"all of {topic}")
        return messages
    finally:
        consumer.close()


def committed(settings: Settings, group: str, topic: str, partitions: int = 1) -> int:
    """The sum of the group's committed offsets on the topic's partitions."""
    consumer = make_consumer(settings.kafka, group)
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def read_topic(settings: Settings, topic: str) -> list[Message]:
    """Every record of every partition of the topic, up to the ends it has when called."""
    consumer = make_consumer(settings.kafka, f"read-{uuid.uuid4().hex}")
    try:
        partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        consumer.close()
    return read_all(settings, topic, partitions)
