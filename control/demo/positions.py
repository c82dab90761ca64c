"""Where topics end, and how far a consumer group or a sink has got: read from Kafka and the
warehouse, for the drain and the reconciliation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

from headwater.kafka.clients import make_consumer
from headwater.postgres import connect
from headwater.settings import KafkaSettings

Partition = tuple[str, int]


class Positions:
    """One probe consumer (in no group) that asks Kafka for watermarks and committed offsets."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self._consumer: Consumer = make_consumer(kafka, group_id=f"headwater-demo-{uuid.uuid4()}")

    def close(self) -> None:
        """Release the consumer."""
        self._consumer.close()

    def topics(self, pattern: str | None = None) -> list[str]:
        """Existing topics, those matching a regex when given."""
        names = self._consumer.list_topics(timeout=10).topics
        return sorted(n for n in names if pattern is None or re.search(pattern, n))

    def partitions(self, topics: Iterable[str]) -> list[Partition]:
        """Every partition of the topics that exist."""
        metadata = self._consumer.list_topics(timeout=10).topics
        found: list[Partition] = []
        for topic in topics:
            info = metadata.get(topic)
            if info is not None and info.error is None:
                found += [(topic, partition) for partition in sorted(info.partitions)]
        return found

    def ends(self, topics: Iterable[str]) -> dict[Partition, int]:
        """The high watermark (next offset to be written) of every partition."""
        return {tp: self._watermarks(tp)[1] for tp in self.partitions(topics)}

    def starts(self, topics: Iterable[str]) -> dict[Partition, int]:
        """The low watermark (first offset still kept) of every partition."""
        return {tp: self._watermarks(tp)[0] for tp in self.partitions(topics)}

    def committed(self, group: str, topics: Iterable[str]) -> dict[Partition, int]:
        """A group's committed offsets; partitions without one are absent."""
        wanted = [TopicPartition(t, p) for t, p in self.partitions(topics)]
        if not wanted:
            return {}
        probe = make_consumer(self._kafka, group_id=group)  # never subscribes: does not join
        try:
            found = probe.committed(wanted, timeout=10)
        finally:
            probe.close()
        return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}

    def _watermarks(self, tp: Partition) -> tuple[int, int]:
        low, high = self._consumer.get_watermark_offsets(TopicPartition(*tp), timeout=10)
        return int(low), int(high)


def sink_offsets(warehouse_dsn: str, sink_group: str) -> dict[Partition, int]:
    """The next offsets a sink stored in the warehouse (what it has landed)."""
    with connect(warehouse_dsn) as connection:
        exists = connection.execute("SELECT to_regclass('headwater.sink_offsets')").fetchone()
        if exists is None or exists[0] is None:
            return {}
        rows = connection.execute(
            "SELECT topic, partition, next_offset FROM headwater.sink_offsets WHERE sink = %s",
            (sink_group,),
        ).fetchall()
    return {(str(topic), int(partition)): int(offset) for topic, partition, offset in rows}


def behind(ends: dict[Partition, int], positions: dict[Partition, int]) -> int:
    """Records between the positions and the ends, over the partitions that hold any."""
    return sum(max(0, end - positions.get(tp, 0)) for tp, end in ends.items() if end > 0)
