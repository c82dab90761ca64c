"""Durable poller cursors in a compacted Kafka topic: the last day fully published, per account.

Written only after Kafka acknowledged the records of that day, so a restart resumes where the
last acknowledged run stopped and never skips data.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Producer, TopicPartition

from headwater.errors import DependencyUnavailable
from headwater.kafka.clients import make_admin, make_consumer
from headwater.kafka.delivery import DeliveryTracker
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings


class CursorStore:
    """Cursors of one source's accounts, read back from the state topic on start."""

    def __init__(self, settings: Settings, source: str, producer: Producer) -> None:
        self.settings = settings
        self.source = source
        self.topic = settings.poller.state_topic
        self._producer = producer
        self._cursors: dict[str, date] = {}

    def ensure_topic(self) -> None:
        """Create the compacted state topic if missing."""
        spec = TopicSpec.compacted(self.topic, 1, self.settings.kafka.replication_factor)
        ensure_topics(make_admin(self.settings.kafka), [spec])

    def load(self) -> dict[str, date]:
        """Read every cursor of this source from the beginning of the topic."""
        consumer = make_consumer(self.settings.kafka, f"headwater-poller-state-{uuid.uuid4().hex}")
        try:
            metadata = consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if metadata is None or metadata.error is not None:
                return {}
            partitions = [
                TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in metadata.partitions
            ]
            ends = {
                p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in partitions
            }
            consumer.assign(partitions)
            remaining = {p for p, high in ends.items() if high > 0}
            prefix = f"{self.source}|"
            while remaining:
                message = consumer.poll(5.0)
                if message is None:
                    raise DependencyUnavailable(f"reading {self.topic} timed out")
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise DependencyUnavailable(f"reading {self.topic} failed: {error}")
                key = (message.key() or b"").decode()
                if key.startswith(prefix):
                    value = message.value()
                    if value is None:
                        self._cursors.pop(key[len(prefix) :], None)
                    else:
                        cursor = json.loads(value)["cursor"]
                        self._cursors[key[len(prefix) :]] = date.fromisoformat(cursor)
                offset = message.offset()
                partition = message.partition()
                if partition is not None and offset is not None and offset + 1 >= ends[partition]:
                    remaining.discard(partition)
        finally:
            consumer.close()
        return dict(self._cursors)

    def get(self, account: str) -> date | None:
        """The last day fully published for the account, if any."""
        return self._cursors.get(account)

    def advance(self, account: str, day: date) -> None:
        """Move the cursor forward (never back) and wait until Kafka acknowledged it."""
        current = self._cursors.get(account)
        if current is not None and current >= day:
            return
        value = {"cursor": day.isoformat(), "updated_at": datetime.now(UTC).isoformat()}
        delivery = DeliveryTracker()
        self._producer.produce(
            self.topic,
            key=f"{self.source}|{account}".encode(),
            value=json.dumps(value).encode(),
            on_delivery=delivery,
        )
        delivery.confirm(self._producer, 30)
        self._cursors[account] = day
