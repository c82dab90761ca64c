"""What lets a whole-pipeline run share the stack with other runs: a block of free metrics
ports, and consumer positions that skip what other runs left in the shared topics."""

from __future__ import annotations

import random
import re
import socket

import psycopg
from confluent_kafka import TopicPartition

from headwater.kafka.clients import make_admin, make_consumer
from headwater.settings import KafkaSettings
from sinks.offsets import OffsetStore
from tests.support.progress import high_watermarks

#: Topics every pipeline run writes to (the per-run CDC topics are not shared).
SHARED_TOPICS = re.compile(
    r"^(raw\.(facebook_ads|google_ads|clevertap)\.|norm\.(ads|app)\.|metrics\.|kpis\.)"
)


def free_port_block(size: int) -> int:
    """A base port with ``size`` free ports from it (``headwater run --base-port``)."""
    for _ in range(100):
        base = random.randrange(20_000, 40_000)
        probes = [socket.socket() for _ in range(size)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise AssertionError("no block of free ports")


def start_at_the_end_of_shared_topics(
    kafka: KafkaSettings, processor_group: str, warehouse_dsn: str, sink_topics: dict[str, str]
) -> None:
    """The run's processor and sinks (group -> its shared topic) skip other runs' records."""
    topics = [t for t in make_admin(kafka).list_topics(timeout=10).topics if SHARED_TOPICS.match(t)]
    ends = high_watermarks(kafka, topics) if topics else {}
    consumer = make_consumer(kafka, group_id=processor_group)
    try:
        if ends:
            consumer.commit(
                offsets=[TopicPartition(t, p, end) for (t, p), end in ends.items()],
                asynchronous=False,
            )
    finally:
        consumer.close()
    with psycopg.connect(warehouse_dsn, autocommit=True) as warehouse:
        OffsetStore.prepare(warehouse)
        for group, topic in sink_topics.items():
            store = OffsetStore(group)
            store.save(warehouse, {tp: end for tp, end in ends.items() if tp[0] == topic})
