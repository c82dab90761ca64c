"""Reading partitions between two offsets, outside any consumer group.

A bounded replay (``headwater replay ... --until``, ``--into-shadow``) reads exactly the
records it planned, with a consumer that assigns the partitions itself: no group's offsets
are read, moved or committed, so it can run beside the service that owns the group.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from headwater.errors import DependencyUnavailable
from headwater.kafka.clients import make_consumer
from headwater.settings import KafkaSettings

log = logging.getLogger(__name__)

#: How long a read may wait for a record it knows is there before it gives up.
STALLED_AFTER_S = 60.0


class RangeReadStalled(DependencyUnavailable):
    """Kafka stopped delivering the records of a range before its end."""


@dataclass(frozen=True)
class OffsetRange:
    """The records of one partition from ``start`` (included) to ``end`` (excluded)."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        """How many offsets it spans (fewer records where compaction removed some)."""
        return max(0, self.end - self.start)


def read_ranges(
    kafka: KafkaSettings, ranges: Iterable[OffsetRange], batch_size: int = 1000
) -> Iterator[list[Message]]:
    """The records of the ranges in batches, each partition in offset order.

    A partition is done at its range's end, or when the consumer reaches the partition's
    end (its last records may have been compacted away). Raises :class:`RangeReadStalled`
    when no record comes for :data:`STALLED_AFTER_S` while some are still due.
    """
    due = {(r.topic, r.partition): r for r in ranges if r.size > 0}
    if not due:
        return
    consumer = make_consumer(
        kafka, f"headwater-range-reader-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
    )
    try:
        consumer.assign([TopicPartition(t, p, r.start) for (t, p), r in due.items()])
        heard_at = time.monotonic()
        while due:
            batch: list[Message] = []
            for message in consumer.consume(batch_size, 1.0):
                heard_at = time.monotonic()
                where = (message.topic() or "", message.partition() or 0)
                error = message.error()
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    if error.fatal():
                        raise DependencyUnavailable(f"Kafka consumer failed: {error}")
                    log.warning("consumer error", extra={"error": str(error)})
                    continue
                wanted = due.get(where)
                if wanted is None:  # done already: fetched before the pause took effect
                    continue
                offset = message.offset()
                if error is not None or offset is None or offset >= wanted.end:
                    _done(consumer, due, where)  # at the partition's end, or past the range
                    continue
                batch.append(message)
                if offset + 1 >= wanted.end:
                    _done(consumer, due, where)
            if batch:
                yield batch
            elif due and time.monotonic() - heard_at > STALLED_AFTER_S:
                names = ", ".join(f"{t}[{p}]" for t, p in sorted(due))
                raise RangeReadStalled(f"no record from {names} for {STALLED_AFTER_S:.0f} s")
    finally:
        consumer.close()


def _done(
    consumer: Consumer, due: dict[tuple[str, int], OffsetRange], where: tuple[str, int]
) -> None:
    due.pop(where, None)
    consumer.pause([TopicPartition(*where)])
