"""Dead letters of the sinks: the original record and the reason, on ``dlq.sink``."""

from __future__ import annotations

from confluent_kafka import Producer

from headwater.dlq import dlq_headers, dlq_topic
from sinks.base import SinkRecord

STAGE = "sink"
DLQ_TOPIC = dlq_topic(STAGE)


def dead_letter(producer: Producer, sink: str, record: SinkRecord, reason: str) -> None:
    """Produce the rejected record with why and where it came from in its headers."""
    headers = dlq_headers(f"{STAGE}.{sink}", reason, record.topic, record.partition, record.offset)
    producer.produce(DLQ_TOPIC, key=record.key, value=record.value, headers=headers)
