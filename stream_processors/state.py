"""Reading a stateful stage's changelog partition back, oldest entry first."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from headwater.errors import DependencyUnavailable
from headwater.kafka.clients import make_consumer
from headwater.settings import KafkaSettings

_READ_TIMEOUT_S = 120.0


def changelog_topic(app_id: str, store: str) -> str:
    """The changelog topic of one store of the processor."""
    return f"{app_id}-{store}-changelog"


def changelog_entries(
    kafka: KafkaSettings, topic: str, partition: int
) -> Iterator[tuple[bytes, bytes | None]]:
    """Every (key, value) of one partition up to its end (when read), in offset order.

    Entries are yielded as they are read, so a large changelog is never held whole. The
    end is the high watermark read first: an empty partition costs one metadata round
    trip, and a full one is done at its last record without waiting for a fetch to come
    back empty (librdkafka's end-of-partition event stays as the fallback).
    """
    consumer = make_consumer(
        kafka, group_id=f"restore-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
    )
    deadline = time.monotonic() + _READ_TIMEOUT_S
    try:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=_READ_TIMEOUT_S
        )
        if high <= low:
            return
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        while True:  # until the high watermark read above
            if time.monotonic() > deadline:
                raise DependencyUnavailable(
                    f"changelog {topic}[{partition}] not read within {_READ_TIMEOUT_S:.0f} s"
                )
            for message in consumer.consume(1_000, 0.2):
                error = message.error()
                if error is None:
                    key = message.key()
                    if key is not None:
                        yield key, message.value()
                    if (message.offset() or 0) >= high - 1:
                        return
                elif error.code() == KafkaError._PARTITION_EOF:
                    return
                else:
                    raise DependencyUnavailable(f"reading changelog {topic}: {error}")
    except KafkaException as exc:
        raise DependencyUnavailable(f"reading changelog {topic}[{partition}]: {exc}") from exc
    finally:
        consumer.close()
