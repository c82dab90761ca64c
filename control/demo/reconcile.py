"""The final reconciliation: every record of the run accounted for, or counted as pending.

Counted from what Kafka and the warehouse hold between two snapshots (one before the services
start, one after they stopped), not from the services' counters, which die with them.

Per source, "pulled" is what this run's producers appended to the source's topics, and "in"
what the processor consumed and committed during the run. Every record in "in" is exactly
one of:

- rejected: ``dlq.normalize`` holds a dead letter naming its topic, partition and offset;
- filtered: the processor's normalizer, run again here, makes nothing of it (a tombstone);
- normalized: every record the normalizer makes of it is on the normalized topics, written
  during the run (found by content, so other writers to the shared topics do not count).

It holds when in = normalized + rejected + filtered. Each normalized record is then landed
(below the sink's offsets stored in the warehouse), dead-lettered by the sink, or pending at
the sink ("unlanded"). A record of the source that the processor has not consumed is pending
at the processor ("unread"): nobody read it, so it is never accounted for. With an end-of-run
fence (:mod:`control.demo.fence`), a source whose fence is not on its topic is behind at the
source: Debezium had not published all of the run's changes. A source is accounted for when it
holds and nothing is pending at any stage.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, Message, TopicPartition

from control.demo.positions import Partition, Positions
from control.demo.sources import DemoSource
from headwater.dlq import dlq_topic
from headwater.errors import DependencyUnavailable
from headwater.kafka.clients import make_consumer
from headwater.settings import KafkaSettings

if TYPE_CHECKING:  # the fence module reads records with this module's reader
    from control.demo.fence import Fence

NORMALIZE_DLQ = dlq_topic("normalize")
SINK_DLQ = dlq_topic("sink")
Coordinates = tuple[str, int, int]  # topic, partition, offset
Range = tuple[int, int]  # [start, end)


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


@dataclass(frozen=True)
class Record:
    """One Kafka record, as the reconciliation reads it back."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()

    @property
    def where(self) -> Coordinates:
        """Its topic, partition and offset."""
        return (self.topic, self.partition, self.offset)


@dataclass
class SourceCount:
    """One source's records through the run."""

    source: str
    sink: str = ""
    pulled: int = 0
    consumed: int = 0
    normalized: int = 0
    rejected: int = 0
    filtered: int = 0
    landed: int = 0
    sink_rejected: int = 0
    unlanded: int = 0  # normalized, neither landed nor dead-lettered by the sink (yet)
    unread: int = 0  # the source's records the processor has not consumed (yet)
    source_behind: bool = False  # Debezium had not published every change of the run
    unaccounted: list[Coordinates] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """in = normalized + rejected + filtered."""
        return self.consumed == self.normalized + self.rejected + self.filtered

    @property
    def difference(self) -> int:
        """in - (normalized + rejected + filtered): 0 when it holds."""
        return self.consumed - (self.normalized + self.rejected + self.filtered)

    @property
    def pending(self) -> int:
        """Records not accounted for yet: unread by the processor, or not landed by the sink."""
        return self.unread + self.unlanded

    @property
    def accounted_for(self) -> bool:
        """Every change published, every pulled record read, in = normalized + rejected +
        filtered, and every normalized record landed or dead-lettered by the sink."""
        landed_or_rejected = self.normalized == self.landed + self.sink_rejected
        return not self.source_behind and not self.unread and self.holds and landed_or_rejected


@dataclass
class Reconciliation:
    """Every source's counts."""

    counts: list[SourceCount] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """Whether in = normalized + rejected + filtered for every source."""
        return all(count.holds for count in self.counts)

    @property
    def pending(self) -> int:
        """Records of every source not accounted for yet (unread or not landed)."""
        return sum(count.pending for count in self.counts)

    @property
    def waiting(self) -> list[SourceCount]:
        """The sources with records pending, or behind at the source."""
        return [count for count in self.counts if count.pending or count.source_behind]

    @property
    def accounted_for(self) -> bool:
        """Whether every record of every source is accounted for: the demo's closing claim."""
        return all(count.accounted_for for count in self.counts)


def digest(topic: str, key: bytes | None, value: bytes | None) -> bytes:
    """A record's identity by content (a tombstone differs from an empty value)."""
    hashed = hashlib.blake2b(digest_size=16)
    for part in (topic.encode(), key, value):
        hashed.update(b"\x00" if part is None else b"\x01" + len(part).to_bytes(8, "big") + part)
    return hashed.digest()


@dataclass
class Evidence:
    """What the run wrote downstream of the sources: dead letters and normalized records."""

    rejected: set[Coordinates] = field(default_factory=set)  # sources of dlq.normalize letters
    sink_rejected: set[Coordinates] = field(default_factory=set)  # sources of dlq.sink letters
    written: dict[bytes, Coordinates] = field(default_factory=dict)  # by content: first place

    def remember(self, record: Record) -> None:
        """Note a normalized record written during the run."""
        self.written.setdefault(digest(record.topic, record.key, record.value), record.where)


class Ledger:
    """Classifies one source's records between the snapshots into its :class:`SourceCount`."""

    def __init__(
        self,
        source: DemoSource,
        before: Snapshot,
        after: Snapshot,
        evidence: Evidence,
        stored: dict[Partition, int],  # the sink's next offsets, stored in the warehouse
        fence: Fence | None = None,  # the run's last source change, when it is on our topics
    ) -> None:
        inputs = set(source.inputs)
        self._source = source
        self._evidence = evidence
        self._stored = stored
        self._consumed = _ranges(before.consumed, after.consumed, inputs)
        self._appended = _ranges(before.ends, after.ends, inputs)
        self.ranges = _union(self._consumed, self._appended)  # what to read
        self.count = SourceCount(source.name, source.sink)
        self._fence = fence if fence is not None and fence.topic in inputs else None
        self.count.source_behind = self._fence is not None  # until its change is read

    def visit(self, record: Record) -> None:
        """Count one record of the source's topics (within :attr:`ranges`)."""
        count, where = self.count, record.where
        fence = self._fence
        if fence is not None and _within(where, self._appended) and fence.matches(record):
            count.source_behind = False
        ours = self._source.published_by_us(record.value)
        if ours and _within(where, self._appended):
            count.pulled += 1
        if not _within(where, self._consumed):
            if ours:
                count.unread += 1  # read by nobody: pending, never accounted for
            return
        count.consumed += 1
        if where in self._evidence.rejected:
            count.rejected += 1
            return
        try:
            produced = self._source.normalize(record.topic, record.key, record.value)
        except Exception:  # the processor dead-letters whatever it cannot normalize
            count.unaccounted.append(where)  # ... and this one is not on the DLQ
            return
        if not produced:
            count.filtered += 1
            return
        written = self._evidence.written
        found = [written.get(digest(o.topic, o.key, o.value)) for o in produced]
        first = found[0]
        if first is None or None in found:
            count.unaccounted.append(where)
            return
        count.normalized += 1
        if first in self._evidence.sink_rejected:
            count.sink_rejected += 1
        elif first[2] < self._stored.get((first[0], first[1]), 0):
            count.landed += 1
        else:
            count.unlanded += 1


def reconcile(
    kafka: KafkaSettings,
    sources: list[DemoSource],
    before: Snapshot,
    after: Snapshot,
    sink_offsets: dict[str, dict[Partition, int]],
    fence: Fence | None = None,
) -> Reconciliation:
    """Account for each source's records between the snapshots (sink offsets by sink name),
    checking that the fence, when there is one, was published."""
    reader = RangeReader(kafka)
    evidence = Evidence(
        rejected=set(_dead_letters(reader, NORMALIZE_DLQ, before, after)),
        sink_rejected=set(_dead_letters(reader, SINK_DLQ, before, after)),
    )
    outputs = {topic for source in sources for topic in source.outputs}
    reader.read(_ranges(before.ends, after.ends, outputs), evidence.remember)
    counts = []
    for source in sources:
        stored = sink_offsets.get(source.sink, {})
        ledger = Ledger(source, before, after, evidence, stored, fence)
        reader.read(ledger.ranges, ledger.visit)
        counts.append(ledger.count)
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


def _within(where: Coordinates, ranges: dict[Partition, Range]) -> bool:
    topic, partition, offset = where
    start, end = ranges.get((topic, partition), (0, 0))
    return start <= offset < end


def _dead_letters(
    reader: RangeReader, topic: str, before: Snapshot, after: Snapshot
) -> list[Coordinates]:
    """Where each dead letter written during the run came from."""
    found: list[Coordinates] = []

    def collect(record: Record) -> None:
        headers = {
            name: value.decode(errors="replace")
            for name, value in record.headers
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


def _record(message: Message) -> Record:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return Record(
        topic or "",
        -1 if partition is None else partition,
        -1 if offset is None else offset,
        message.key(),
        message.value(),
        tuple(
            (name, value if value is None or isinstance(value, bytes) else str(value).encode())
            for name, value in pairs
        ),
    )


class RangeReader:
    """Reads offset ranges of partitions once, with a consumer in no group."""

    def __init__(self, kafka: KafkaSettings, timeout_s: float = 600.0) -> None:
        self._kafka = kafka
        self._timeout_s = timeout_s

    def read(self, ranges: dict[Partition, Range], visit: Callable[[Record], None]) -> None:
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
                    record = _record(message)
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            remaining.discard((record.topic, record.partition))
                            continue
                        raise DependencyUnavailable(f"reading {record.topic}: {error}")
                    end = todo[(record.topic, record.partition)][1]
                    if record.offset < end:
                        visit(record)
                    if record.offset >= end - 1:
                        remaining.discard((record.topic, record.partition))
        finally:
            consumer.close()
