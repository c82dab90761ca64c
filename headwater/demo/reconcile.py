"""The final reconciliation: every record the processor consumed during the run, accounted for.

Counted from what Kafka and the warehouse hold between two snapshots (one before the services
start, one after they stopped), not from the services' counters, which die with them. For
every record in the range the processor consumed and committed ("in"), exactly one of:

- rejected: ``dlq.normalize`` holds a dead letter naming its topic, partition and offset;
- filtered: the processor's normalizer, run again here, makes nothing of it (a tombstone);
- normalized: every record the normalizer makes of it is on the normalized topics, written
  during the run (found by content, so other writers to the shared topics do not count).

It holds when in = normalized + rejected + filtered. Each normalized record is then landed
(below the sink's offsets stored in the warehouse), dead-lettered by the sink, or pending.
"pulled" is what this run's producers appended to the source's topics.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, TopicPartition

from headwater.demo.positions import Partition, Positions
from headwater.demo.sources import DemoSource
from headwater.dlq import dlq_topic
from headwater.errors import DependencyUnavailable
from headwater.kafka.clients import make_consumer
from headwater.settings import KafkaSettings
from stream_processors.errors import RejectedRecord

NORMALIZE_DLQ = dlq_topic("normalize")
SINK_DLQ = dlq_topic("sink")
Coordinates = tuple[str, int, int]  # topic, partition, offset
Range = tuple[int, int]  # [start, end)

#: What the processor dead-letters instead of crashing (see stream_processors.relay).
UNREADABLE = (RejectedRecord, ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError)


@dataclass(frozen=True)
class Snapshot:
    """Topic ends, and where the processor stands on its inputs, at one moment."""

    ends: dict[Partition, int]
    consumed: dict[Partition, int]  # the processor's next offset on each input partition


def take_snapshot(
    positions: Positions,
    sources: list[DemoSource],
    processor_group: str,
    before: Snapshot | None = None,
) -> Snapshot:
    """The ends of every topic involved and the processor's committed input offsets.

    A partition the processor has not committed on counts as where it would start (the low
    watermark) before the run, and as not consumed after it.
    """
    inputs = [topic for source in sources for topic in source.inputs]
    outputs = sorted({topic for source in sources for topic in source.outputs})
    ends = positions.ends([*inputs, *outputs, NORMALIZE_DLQ, SINK_DLQ])
    committed = positions.committed(processor_group, inputs)
    if before is None:
        fallback = positions.starts(inputs)
    else:
        fallback = {tp: before.consumed.get(tp, 0) for tp in positions.partitions(inputs)}
    return Snapshot(ends, {tp: committed.get(tp, start) for tp, start in fallback.items()})


@dataclass
class SourceCount:
    """One source's records through the run."""

    source: str
    pulled: int = 0
    consumed: int = 0
    normalized: int = 0
    rejected: int = 0
    filtered: int = 0
    landed: int = 0
    sink_rejected: int = 0
    pending: int = 0
    unaccounted: list[Coordinates] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """in = normalized + rejected + filtered."""
        return self.consumed == self.normalized + self.rejected + self.filtered

    @property
    def difference(self) -> int:
        """in - (normalized + rejected + filtered): 0 when it holds."""
        return self.consumed - (self.normalized + self.rejected + self.filtered)


@dataclass
class Reconciliation:
    """Every source's counts."""

    counts: list[SourceCount] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """Whether every source reconciles."""
        return all(count.holds for count in self.counts)


def digest(topic: str, key: bytes | None, value: bytes | None) -> bytes:
    """A record's identity by content (a tombstone differs from an empty value)."""
    hashed = hashlib.blake2b(digest_size=16)
    for part in (topic.encode(), key, value):
        hashed.update(b"\x00" if part is None else b"\x01" + len(part).to_bytes(8, "big") + part)
    return hashed.digest()


def reconcile(
    kafka: KafkaSettings,
    sources: list[DemoSource],
    before: Snapshot,
    after: Snapshot,
    sink_offsets: dict[str, dict[Partition, int]],
) -> Reconciliation:
    """Account for each source's records between the snapshots (sink offsets by sink name)."""
    reader = RangeReader(kafka)
    rejected = set(_dead_letters(reader, NORMALIZE_DLQ, before, after))
    sink_rejected = set(_dead_letters(reader, SINK_DLQ, before, after))
    written: dict[bytes, Coordinates] = {}  # normalized record -> where it first appears

    def remember(message: Message) -> None:
        where = _coordinates(message)
        written.setdefault(digest(where[0], message.key(), message.value()), where)

    outputs = {topic for source in sources for topic in source.outputs}
    reader.read(_ranges(before.ends, after.ends, outputs), remember)
    counts = []
    for source in sources:
        count = SourceCount(source.name)
        stored = sink_offsets.get(source.sink, {})
        consumed = _ranges(before.consumed, after.consumed, set(source.inputs))
        appended = _ranges(before.ends, after.ends, set(source.inputs))

        def classify(
            message: Message,
            source: DemoSource = source,
            count: SourceCount = count,
            consumed: dict[Partition, Range] = consumed,
            appended: dict[Partition, Range] = appended,
            stored: dict[Partition, int] = stored,
        ) -> None:
            where = _coordinates(message)
            if _within(where, appended) and source.published_by_us(message.value()):
                count.pulled += 1
            if not _within(where, consumed):
                return
            count.consumed += 1
            if where in rejected:
                count.rejected += 1
                return
            try:
                produced = source.normalize(where[0], message.key(), message.value())
            except UNREADABLE:
                count.unaccounted.append(where)  # should have been dead-lettered
                return
            if not produced:
                count.filtered += 1
                return
            found = [written.get(digest(o.topic, o.key, o.value)) for o in produced]
            first = found[0]
            if first is None or None in found:
                count.unaccounted.append(where)
                return
            count.normalized += 1
            if first in sink_rejected:
                count.sink_rejected += 1
            elif first[2] < stored.get((first[0], first[1]), 0):
                count.landed += 1
            else:
                count.pending += 1

        reader.read(_union(consumed, appended), classify)
        counts.append(count)
    return Reconciliation(counts)


def _ranges(
    start: dict[Partition, int], end: dict[Partition, int], topics: set[str]
) -> dict[Partition, Range]:
    return {tp: (start.get(tp, 0), stop) for tp, stop in end.items() if tp[0] in topics}


def _union(a: dict[Partition, Range], b: dict[Partition, Range]) -> dict[Partition, Range]:
    merged = dict(a)
    for tp, (start, end) in b.items():
        if tp in merged:
            merged[tp] = (min(merged[tp][0], start), max(merged[tp][1], end))
        else:
            merged[tp] = (start, end)
    return merged


def _coordinates(message: Message) -> Coordinates:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    return (topic or "", -1 if partition is None else partition, -1 if offset is None else offset)


def _within(where: Coordinates, ranges: dict[Partition, Range]) -> bool:
    topic, partition, offset = where
    start, end = ranges.get((topic, partition), (0, 0))
    return start <= offset < end


def _dead_letters(
    reader: RangeReader, topic: str, before: Snapshot, after: Snapshot
) -> list[Coordinates]:
    """Where each dead letter written during the run came from."""
    found: list[Coordinates] = []

    def collect(message: Message) -> None:
        raw = message.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        headers = {
            name: value.decode() if isinstance(value, bytes) else str(value)
            for name, value in pairs
            if value is not None
        }
        try:
            source = headers["dlq.source.topic"]
            found.append(
                (source, int(headers["dlq.source.partition"]), int(headers["dlq.source.offset"]))
            )
        except (KeyError, ValueError):
            return  # not one of ours

    reader.read(_ranges(before.ends, after.ends, {topic}), collect)
    return found


class RangeReader:
    """Reads offset ranges of partitions once, with a consumer in no group."""

    def __init__(self, kafka: KafkaSettings, timeout_s: float = 600.0) -> None:
        self._kafka = kafka
        self._timeout_s = timeout_s

    def read(self, ranges: dict[Partition, Range], visit: Callable[[Message], None]) -> None:
        """Call ``visit`` with every record in the ranges [start, end), partition by partition."""
        todo = {tp: (start, end) for tp, (start, end) in ranges.items() if end > start}
        if not todo:
            return
        consumer = make_consumer(
            self._kafka,
            group_id=f"headwater-demo-reader-{uuid.uuid4()}",
            **{"enable.partition.eof": True, "isolation.level": "read_uncommitted"},
        )
        deadline = time.monotonic() + self._timeout_s
        try:
            consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in todo.items()])
            remaining = set(todo)
            while remaining:
                if time.monotonic() > deadline:
                    raise DependencyUnavailable(
                        f"reading back {len(remaining)} partitions took over {self._timeout_s:.0f}s"
                    )
                for message in consumer.consume(num_messages=5_000, timeout=1.0):
                    topic, partition, offset = _coordinates(message)
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            remaining.discard((topic, partition))
                            continue
                        raise DependencyUnavailable(f"reading {topic}: {error}")
                    end = todo[(topic, partition)][1]
                    if offset < end:
                        visit(message)
                    if offset >= end - 1:
                        remaining.discard((topic, partition))
        finally:
            consumer.close()
