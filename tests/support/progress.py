"""Has a consumer caught up? Kafka high watermarks against committed or stored offsets."""

from __future__ import annotations

import uuid

import psycopg
from confluent_kafka import TopicPartition

from headwater.kafka.clients import make_consumer
from headwater.settings import KafkaSettings


def high_watermarks(kafka: KafkaSettings, topics: list[str]) -> dict[tuple[str, int], int]:
    """The end offset of every partition of the topics."""
    consumer = make_consumer(kafka, group_id=f"probe-{uuid.uuid4().hex}")
    try:
        ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            for partition in metadata.partitions:
                ends[(topic, partition)] = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )[1]
    finally:
        consumer.close()
    return ends


def group_caught_up(kafka: KafkaSettings, group: str, topics: list[str]) -> bool:
    """Whether a consumer group committed offsets at the end of every partition."""
    ends = high_watermarks(kafka, topics)
    consumer = make_consumer(kafka, group_id=group)
    try:
        committed = consumer.committed([TopicPartition(t, p) for t, p in ends], timeout=10)
    finally:
        consumer.close()
    positions = {(tp.topic, tp.partition): tp.offset for tp in committed}
    return all(positions.get(tp, -1) >= end for tp, end in ends.items() if end > 0)


def sink_caught_up(kafka: KafkaSettings, warehouse_dsn: str, sink: str, topics: list[str]) -> bool:
    """Whether a sink stored, in the warehouse, offsets at the end of every partition."""
    ends = high_watermarks(kafka, topics)
    with psycopg.connect(warehouse_dsn) as warehouse:
        stored = {
            (topic, partition): offset
            for topic, partition, offset in warehouse.execute(
                "SELECT topic, partition, next_offset FROM headwater.sink_offsets WHERE sink = %s",
                (sink,),
            ).fetchall()
        }
    return all(stored.get(tp, 0) >= end for tp, end in ends.items() if end > 0)
