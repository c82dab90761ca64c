"""Replaying history: move a stopped consumer group back to a time (``headwater replay``).

The processor or a sink, while stopped, is moved back so that it reads its input topics again
from the first record at or after the time. Its next start reprocesses everything since; every
stage and sink is idempotent, and a record normalized anew by fixed code replaces the rows of
the same source record (``sinks/upsert.py``), so a replay after a fix repairs and a replay of
unchanged code changes nothing.

The plan (from, to and count per partition) is computed first and refused, with the reason,
when a topic does not exist, when the group still has members (it would overwrite our offsets
with its own), or when the time is older than what the topic keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import OFFSET_END, ConsumerGroupState, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from headwater.errors import ConfigurationError, Terminal
from headwater.kafka.clients import make_admin, make_consumer
from headwater.settings import KafkaSettings


class ReplayRefused(Terminal):
    """The replay cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class PartitionPlan:
    """One partition: read again from ``start`` (now at ``committed``) up to ``end``."""

    topic: str
    partition: int
    start: int
    end: int
    committed: int | None

    @property
    def records(self) -> int:
        """How many records will be read again."""
        return max(0, self.end - self.start)


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


def plan(
    kafka: KafkaSettings,
    group: str,
    topics: list[str],
    since: datetime,
    now: datetime | None = None,
    positions: dict[tuple[str, int], int] | None = None,
) -> list[PartitionPlan]:
    """Where each partition of the topics is read again from, for ``group``; refused as
    above. Touches nothing.

    ``positions`` are where the group really stands when that is not its Kafka commit (a
    sink's offsets in the warehouse). A group behind the time is left where it is: a replay
    never moves anyone forward past records it has not read.
    """
    now = now or datetime.now(UTC)
    if since > now:
        raise ConfigurationError("--from", f"{since.isoformat()} is in the future")
    admin = make_admin(kafka)
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
        stamp = int(since.timestamp() * 1000)
        starts = consumer.offsets_for_times(
            [TopicPartition(p.topic, p.partition, stamp) for p in partitions], timeout=10
        )
        plans = []
        for start in starts:
            if start.error is not None:
                raise ReplayRefused(f"cannot find {start.topic}[{start.partition}] at that time: "
                                    f"{start.error}")  # fmt: skip
            low, high = consumer.get_watermark_offsets(
                TopicPartition(start.topic, start.partition), timeout=10
            )
            first = high if start.offset in (-1, OFFSET_END) else max(low, start.offset)
            offset = committed.get((start.topic, start.partition), -1)
            now_at = offset if offset >= 0 else None
            if now_at is not None:
                first = min(first, max(low, now_at))  # behind already: stay behind
            plans.append(PartitionPlan(start.topic, start.partition, first, high, now_at))
        return plans
    finally:
        consumer.close()


def partitions_of(kafka: KafkaSettings, topics: list[str]) -> list[tuple[str, int]]:
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
