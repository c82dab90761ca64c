"""What a replay reads again: per partition, from which offset to which (``headwater replay``).

A rewind (no ``--until``) moves a stopped processor or sink back so that it reads its input
topics again from the first record at or after the time; its next start reprocesses
everything since. Every stage and sink is idempotent, and a record normalized anew by fixed
code replaces the rows of the same source record (``sinks/upsert.py``), so a replay after a
fix repairs and a replay of unchanged code changes nothing.

A bounded replay (``--until``, or a sink's ``--into-shadow``) is a one-shot job that reads
each partition's window itself, from the first record at or after ``--from`` to the first
at or after ``--until``, and stops. Its plan also names what lies after the window up to the
partition's end when planned: the job reads that too, but keeps only the records of keys the
window touched, so that a key's last record is still its latest one (see ``window`` below).

The plan is computed first and refused, with the reason, when a topic does not exist, when
the group still has members (it would overwrite our offsets with its own), or when the time
is older than what the topic keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import OFFSET_END, Consumer, ConsumerGroupState, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from headwater.errors import ConfigurationError, Terminal
from headwater.kafka.clients import make_admin, make_consumer
from headwater.kafka.ranges import OffsetRange
from headwater.settings import KafkaSettings

Partition = tuple[str, int]


class ReplayRefused(Terminal):
    """The replay cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class PartitionPlan:
    """One partition: read again from ``start`` (the group is at ``committed``) up to ``end``;
    ``high`` is where the partition ended when planned."""

    topic: str
    partition: int
    start: int
    end: int
    committed: int | None
    high: int

    @property
    def records(self) -> int:
        """How many records will be read again."""
        return max(0, self.end - self.start)

    @property
    def later(self) -> int:
        """How many records come after the window (a bounded replay reads them for the keys
        the window touched)."""
        return max(0, self.high - self.end)

    @property
    def window(self) -> OffsetRange:
        """The records read again."""
        return OffsetRange(self.topic, self.partition, self.start, self.end)

    @property
    def after(self) -> OffsetRange:
        """The records after the window, up to the end when planned."""
        return OffsetRange(self.topic, self.partition, self.end, self.high)


def topics_matching(kafka: KafkaSettings, patterns: Iterable[str]) -> list[str]:
    """Topic names, a ``^regex`` resolved against the cluster's topics."""
    names = sorted(make_admin(kafka).list_topics(timeout=10).topics)
    found: list[str] = []
    for pattern in patterns:
        if pattern.startswith("^"):
            found += [name for name in names if re.match(pattern, name)]
        elif pattern not in names:
            raise ReplayRefused(f"topic {pattern} does not exist")
        else:
            found.append(pattern)
    return sorted(set(found))


def ensure_idle(admin: AdminClient, group: str) -> None:
    """Refuse unless the consumer group has no members (the service is stopped)."""
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    if description.members or description.state not in (
        ConsumerGroupState.EMPTY,
        ConsumerGroupState.DEAD,
        ConsumerGroupState.UNKNOWN,
    ):
        raise ReplayRefused(
            f"consumer group {group} is active ({len(description.members)} members, "
            f"{description.state.name}): stop the service first, then replay"
        )


def _retention_ms(admin: AdminClient, topics: list[str]) -> dict[str, int | None]:
    """Each topic's time retention (None when it keeps records by key or forever)."""
    resources = [ConfigResource(ResourceType.TOPIC, topic) for topic in topics]
    kept: dict[str, int | None] = {}
    for resource, future in admin.describe_configs(resources).items():
        config = future.result(timeout=10)
        policy = config["cleanup.policy"].value or "delete"
        retention = int(config["retention.ms"].value or -1)
        kept[resource.name] = retention if "delete" in policy and retention >= 0 else None
    return kept


def check_window(since: datetime, until: datetime | None, now: datetime) -> None:
    """Refuse a window that starts in the future or ends before it starts."""
    if since > now:
        raise ConfigurationError("--from", f"{since.isoformat()} is in the future")
    if until is not None and until <= since:
        raise ConfigurationError(
            "--until", f"{until.isoformat()} is not after --from {since.isoformat()}"
        )


def plan(
    kafka: KafkaSettings,
    group: str,
    topics: list[str],
    since: datetime,
    until: datetime | None = None,
    *,
    now: datetime | None = None,
    positions: dict[Partition, int] | None = None,
    require_idle: bool = True,
    stay_behind: bool = True,
) -> list[PartitionPlan]:
    """Where each partition of the topics is read again from, and to; refused as above.
    Touches nothing.

    The window ends at the first record at or after ``until`` (at the partition's end when
    there is none, or no ``until``). ``positions`` are where the group really stands when
    that is not its Kafka commit (a sink's offsets in the warehouse). With ``stay_behind``
    (a rewind, a shadow) a group behind the time starts where it stands, and one without a
    position at the beginning, where it would start anyway: a replay never moves anyone
    past records it has not read. Without it (a window landed once) the window starts at
    ``since`` whatever the group's position. ``require_idle`` refuses an active group.
    """
    now = now or datetime.now(UTC)
    check_window(since, until, now)
    admin = make_admin(kafka)
    if require_idle:
        ensure_idle(admin, group)
    for topic, retention in _retention_ms(admin, topics).items():
        if retention is not None and (now - since).total_seconds() * 1000 > retention:
            raise ReplayRefused(
                f"{topic} keeps records for {retention / 3_600_000:g} h: nothing from "
                f"{since.isoformat()} is left; choose a later --from"
            )
    consumer = make_consumer(kafka, group)
    try:
        partitions = [TopicPartition(t, p) for t, p in partitions_of(kafka, topics)]
        committed = (
            positions
            if positions is not None
            else {(p.topic, p.partition): p.offset for p in consumer.committed(partitions, 10)}
        )
        starts = _offsets_at(consumer, partitions, since)
        ends = _offsets_at(consumer, partitions, until) if until is not None else {}
        plans = []
        for partition in partitions:
            where = (partition.topic, partition.partition)
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            first = _within(starts[where], low, high)
            offset = committed.get(where, -1)
            now_at = offset if offset >= 0 else None
            if stay_behind:
                first = min(first, low if now_at is None else max(low, now_at))
            last = _within(ends[where], low, high) if until is not None else high
            end = max(first, last)
            plans.append(PartitionPlan(*where, start=first, end=end, committed=now_at, high=high))
        return plans
    finally:
        consumer.close()


def _offsets_at(
    consumer: Consumer, partitions: list[TopicPartition], moment: datetime
) -> dict[Partition, int]:
    """The first offset at or after ``moment`` in each partition (-1: none)."""
    stamp = int(moment.timestamp() * 1000)
    found = consumer.offsets_for_times(
        [TopicPartition(p.topic, p.partition, stamp) for p in partitions], timeout=10
    )
    offsets = {}
    for at in found:
        if at.error is not None:
            raise ReplayRefused(f"cannot find {at.topic}[{at.partition}] at that time: {at.error}")
        offsets[(at.topic, at.partition)] = at.offset
    return offsets


def _within(offset: int, low: int, high: int) -> int:
    """An offset Kafka found for a time, as a position: the end when none is that late."""
    return high if offset in (-1, OFFSET_END) else max(low, min(offset, high))


def partitions_of(kafka: KafkaSettings, topics: list[str]) -> list[Partition]:
    """Every (topic, partition) of the topics."""
    metadata = make_admin(kafka).list_topics(timeout=10).topics
    return [
        (topic, partition) for topic in topics for partition in sorted(metadata[topic].partitions)
    ]


def rewind_kafka(kafka: KafkaSettings, group: str, plans: list[PartitionPlan]) -> None:
    """Commit the plan's start offsets for the group (it must be idle)."""
    admin = make_admin(kafka)
    ensure_idle(admin, group)
    consumer = make_consumer(kafka, group)
    try:
        consumer.commit(
            offsets=[TopicPartition(p.topic, p.partition, p.start) for p in plans],
            asynchronous=False,
        )
    finally:
        consumer.close()
