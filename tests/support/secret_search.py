"""Searching everything a run left behind for marker secrets: records, logs, texts."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import TopicPartition
from confluent_kafka.admin import OffsetSpec

from headwater.kafka.clients import make_admin, make_consumer
from headwater.settings import KafkaSettings

#: Kafka's own bookkeeping topics: group offsets and transaction state, no records of ours.
INTERNAL = ("__consumer_offsets", "__transaction_state", "__share_group_state", "__cluster")

Positions = dict[tuple[str, int], int]


def end_offsets(kafka: KafkaSettings) -> Positions:
    """The end offset of every partition of every topic (one request for all)."""
    admin = make_admin(kafka)
    metadata = admin.list_topics(timeout=30)
    wanted = {
        TopicPartition(name, partition): OffsetSpec.latest()
        for name, topic in metadata.topics.items()
        if not name.startswith(INTERNAL) and topic.error is None
        for partition in topic.partitions
    }
    ends: Positions = {}
    for tp, future in admin.list_offsets(wanted, request_timeout=60).items():
        try:
            ends[(tp.topic, tp.partition)] = future.result().offset
        except Exception:  # a topic another test deleted meanwhile  # noqa: S112
            continue
    return ends


@dataclass
class Findings:
    """What was searched, and every place a marker was found."""

    searched: Counter[str] = field(default_factory=Counter)
    leaks: list[str] = field(default_factory=list)

    def search(self, where: str, kind: str, data: bytes, markers: Iterable[str]) -> None:
        """Count one searched item of ``kind``; note each marker found in it."""
        self.searched[kind] += 1
        for marker in markers:
            if marker.encode() in data:
                self.leaks.append(f"{marker[:18]}... in {where}")


def search_records_since(
    kafka: KafkaSettings, since: Positions, markers: list[str], findings: Findings
) -> None:
    """Every record written after ``since`` (new topics: all), key, value and headers."""
    ends = {tp: end for tp, end in end_offsets(kafka).items() if end > since.get(tp, 0)}
    if not ends:
        return
    consumer = make_consumer(kafka, f"secret-search-{uuid.uuid4().hex}")
    try:
        assignment = [TopicPartition(t, p, since.get((t, p), 0)) for (t, p) in ends]
        consumer.assign(assignment)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            for message in consumer.consume(5000, 1.0):
                if message.error() is not None:
                    continue
                topic = str(message.topic())
                headers = b"".join(
                    name.encode() + (value or b"") for name, value in message.headers() or []
                )
                data = (message.key() or b"") + (message.value() or b"") + headers
                kind = topic.split(".")[0] if "." in topic else topic
                findings.search(f"topic {topic}", f"records:{kind}", data, markers)
            positions = consumer.position([TopicPartition(t, p) for (t, p) in ends])
            if all(tp.offset >= ends[(tp.topic, tp.partition)] for tp in positions):
                return
        existing = set(make_admin(kafka).list_topics(timeout=30).topics)
        behind = [
            f"{tp.topic}[{tp.partition}]"
            for tp in consumer.position([TopicPartition(t, p) for (t, p) in ends])
            if tp.offset < ends[(tp.topic, tp.partition)] and tp.topic in existing
        ]
        assert not behind, f"could not read to the end of {behind[:10]}"
    finally:
        consumer.close()


def search_files(paths: Iterable[Path], markers: list[str], findings: Findings) -> None:
    """Every line of every file (the logs)."""
    for path in paths:
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            findings.search(f"{path}:{number}", "log lines", line, markers)
