"""The dead letters of every stage, read, put back and purged (``headwater dlq``).

A dead letter is the original record (key, value, headers) on ``dlq.<stage>`` with headers
that say why and where it came from (``headwater.dlq``). Reading never joins a consumer
group: it assigns the partitions and reads between two offsets, so it moves nothing.
Replaying produces the original record again to the topic it came from, where the stage
that refused it reads it like any other (every stage and sink is idempotent, so a record
replayed twice changes nothing more); the copy carries ``dlq.replayed-from``. Purging deletes
a topic's dead letters older than a time (Kafka's DeleteRecords).
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from headwater import dlq
from headwater.avro import read_as_written
from headwater.dlq import DLQ_PREFIX, dlq_topic, reason_label
from headwater.errors import ConfigurationError, DependencyUnavailable
from headwater.kafka.clients import make_admin, make_consumer, make_producer, message_headers
from headwater.kafka.delivery import DeliveryTracker
from headwater.settings import KafkaSettings

#: A partition whose next record does not come for this long is read no further (its
#: records were deleted meanwhile).
READ_IDLE_S = 10.0
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class DlqError(DependencyUnavailable):
    """Kafka could not say where a time falls in a dead-letter topic."""


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """A time from ISO 8601 (``2026-11-28T10:00:00Z``; UTC when no zone is given) or a
    duration before now (``30m``, ``6h``, ``7d``)."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigurationError(
            "--since/--until", f"{text!r} is neither an ISO 8601 time nor a duration like 6h"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter, where it sits and what it says."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]

    def header(self, name: str) -> str:
        """A header's text ("" when absent)."""
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode(errors="replace")
        return ""

    @property
    def reason(self) -> str:
        """Why it was refused."""
        return self.header(dlq.REASON)

    @property
    def source(self) -> tuple[str, int, int] | None:
        """The topic, partition and offset it came from, when the headers say."""
        try:
            return (
                self.header(dlq.SOURCE_TOPIC),
                int(self.header(dlq.SOURCE_PARTITION)),
                int(self.header(dlq.SOURCE_OFFSET)),
            )
        except ValueError:
            return None

    def record(self) -> dict[str, Any] | None:
        """The value as the Avro record it is, read with the writer schema its header names;
        None when it names none (a JSON value, or no header). Raises what reading it raises
        (``headwater.avro.DECODE_ERRORS``: an unknown writer schema among them)."""
        return None if self.value is None else read_as_written(self.value, self.headers)

    def original_headers(self) -> list[tuple[str, bytes | None]]:
        """The record's own headers, without the ones the dead-lettering added."""
        return [(k, v) for k, v in self.headers if not k.startswith(f"{DLQ_PREFIX}.")]


@dataclass(frozen=True)
class Selection:
    """Which dead letters: of one stage or all, in a time range, with a reason containing."""

    stage: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None

    def keeps(self, letter: DeadLetter) -> bool:
        """Whether the letter is selected (time and reason; the stage chose the topics)."""
        if letter.timestamp is not None:
            if self.since is not None and letter.timestamp < self.since:
                return False
            if self.until is not None and letter.timestamp >= self.until:
                return False
        return self.reason is None or self.reason.lower() in letter.reason.lower()


def dlq_topics(kafka: KafkaSettings, stage: str | None = None) -> list[str]:
    """The dead-letter topics on the cluster (or the one of ``stage``), by name."""
    names = make_admin(kafka).list_topics(timeout=10).topics
    if stage is not None:
        topic = dlq_topic(stage)
        if topic not in names:
            known = ", ".join(sorted(t.removeprefix(f"{DLQ_PREFIX}.") for t in _dlq(names)))
            raise ConfigurationError("--stage", f"no topic {topic} (stages: {known or 'none'})")
        return [topic]
    return sorted(_dlq(names))


def _dlq(names: Iterable[str]) -> list[str]:
    return [name for name in names if name.startswith(f"{DLQ_PREFIX}.")]


def read(kafka: KafkaSettings, selection: Selection) -> Iterator[DeadLetter]:
    """The selected dead letters, topic by topic, partition by partition, oldest first."""
    consumer = make_consumer(kafka, f"headwater-dlq-reader-{uuid.uuid4().hex}")
    try:
        for topic in dlq_topics(kafka, selection.stage):
            yield from _read_topic(consumer, topic, selection)
    finally:
        consumer.close()


def _read_topic(consumer: Consumer, topic: str, selection: Selection) -> Iterator[DeadLetter]:
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    for partition in sorted(metadata.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        start = low
        if selection.since is not None:
            (at,) = consumer.offsets_for_times(
                [TopicPartition(topic, partition, int(selection.since.timestamp() * 1000))],
                timeout=10,
            )
            if at.error is not None:
                raise DlqError(f"cannot find {topic}[{partition}] at that time: {at.error}")
            found = at.offset
            start = high if found in (-1, OFFSET_END) else max(low, found)
        if start >= high:
            continue
        consumer.assign([TopicPartition(topic, partition, start)])
        position, idle_since = start, time.monotonic()
        while position < high and time.monotonic() - idle_since < READ_IDLE_S:
            for message in consumer.consume(500, 1.0):
                offset = message.offset()
                if message.error() is not None or offset is None:
                    continue
                position, idle_since = offset + 1, time.monotonic()
                letter = _letter(topic, partition, offset, message)
                if offset < high and selection.keeps(letter):
                    yield letter
        consumer.unassign()


def _letter(topic: str, partition: int, offset: int, message: Message) -> DeadLetter:
    kind, stamp = message.timestamp()
    return DeadLetter(
        topic,
        partition,
        offset,
        datetime.fromtimestamp(stamp / 1000, UTC) if kind else None,
        message.key(),
        message.value(),
        message_headers(message),
    )


@dataclass
class Summary:
    """Counts of dead letters per topic, reason and source topic, and when they came."""

    records: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    sources: Counter[tuple[str, str]] = field(default_factory=Counter)
    first: dict[str, datetime] = field(default_factory=dict)
    last: dict[str, datetime] = field(default_factory=dict)

    def add(self, letter: DeadLetter) -> None:
        """Count one letter."""
        self.records[letter.topic] += 1
        self.reasons[(letter.topic, reason_label(letter.reason) or "(no reason)")] += 1
        source = letter.source
        self.sources[(letter.topic, source[0] if source else "(unknown)")] += 1
        if letter.timestamp is not None:
            self.first.setdefault(letter.topic, letter.timestamp)
            self.first[letter.topic] = min(self.first[letter.topic], letter.timestamp)
            self.last[letter.topic] = max(self.last.get(letter.topic, letter.timestamp),
                                          letter.timestamp)  # fmt: skip


def summarize(letters: Iterator[DeadLetter]) -> Summary:
    """The summary of the letters."""
    summary = Summary()
    for letter in letters:
        summary.add(letter)
    return summary


def replay(kafka: KafkaSettings, letters: Iterator[DeadLetter]) -> Counter[str]:
    """Produce each letter's original record again to the topic it came from; how many per
    topic. Letters that do not say where they came from are skipped (counted as "")."""
    producer = make_producer(kafka)
    delivery = DeliveryTracker()
    counts: Counter[str] = Counter()
    for letter in letters:
        source = letter.source
        if source is None or not source[0]:
            counts[""] += 1
            continue
        producer.produce(
            source[0],
            key=letter.key,
            value=letter.value,
            headers=[
                *letter.original_headers(),
                (dlq.REPLAYED_FROM, f"{letter.topic}:{letter.partition}:{letter.offset}".encode()),
            ],
            on_delivery=delivery,
        )
        producer.poll(0)
        counts[source[0]] += 1
    delivery.confirm(producer)
    return counts


def purge(kafka: KafkaSettings, topic: str, before: datetime) -> dict[int, int]:
    """Delete the topic's records older than ``before``; records deleted per partition."""
    admin: AdminClient = make_admin(kafka)
    consumer = make_consumer(kafka, f"headwater-dlq-purge-{uuid.uuid4().hex}")
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        cuts = consumer.offsets_for_times(
            [TopicPartition(topic, p, int(before.timestamp() * 1000)) for p in partitions],
            timeout=10,
        )
        targets, lows = [], {}
        for cut in cuts:
            if cut.error is not None:
                raise DlqError(f"cannot find {topic}[{cut.partition}] at that time: {cut.error}")
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, cut.partition), timeout=10
            )
            offset = high if cut.offset in (-1, OFFSET_END) else cut.offset
            lows[cut.partition] = low
            if offset > low:
                targets.append(TopicPartition(topic, cut.partition, offset))
    finally:
        consumer.close()
    if not targets:
        return {}
    for future in admin.delete_records(targets).values():
        future.result()
    return {t.partition: t.offset - lows[t.partition] for t in targets}
