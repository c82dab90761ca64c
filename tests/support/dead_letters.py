"""The dead letters a sink published to ``dlq.sink``, read back by a test."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import TopicPartition

from headwater.kafka.clients import make_consumer
from headwater.settings import Settings
from sinks.dlq import DLQ_TOPIC


def sink_dead_letters(settings: Settings, topic: str, expected: int) -> list[dict[str, Any]]:
    """The dlq.sink records that came from ``topic`` (key, value and headers as text), once
    ``expected`` of them are there."""
    consumer = make_consumer(settings.kafka, f"read-{uuid.uuid4().hex}")
    consumer.assign([TopicPartition(DLQ_TOPIC, 0, 0)])
    _, end = consumer.get_watermark_offsets(TopicPartition(DLQ_TOPIC, 0), timeout=10)
    found: list[dict[str, Any]] = []
    position = 0
    try:
        while position < end:
            for message in consumer.consume(500, 1.0):
                position = message.offset() + 1
                headers = {k: v.decode() for k, v in message.headers() or [] if v is not None}
                if headers.get("dlq.source.topic") == topic:
                    found.append({"key": message.key(), "value": message.value(), **headers})
    finally:
        consumer.close()
    assert len(found) == expected, found
    return found
