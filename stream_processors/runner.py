"""The processor's loop: consume a batch, transform it, deliver everything, then commit.

One consumer (the group is the processor's app id) reads every stage's sources, so a worker
joining or leaving moves partitions of all stages in one rebalance. Per batch:

1. each record goes through its stage: its outputs, or a dead letter on ``dlq.<label>``
   with the reason (any exception, named by its class), or nothing (counted as filtered);
2. the producer is flushed and every delivery checked;
3. the stateful stages' changes go to their changelogs, flushed and checked the same way;
4. only then are the input offsets committed.

A failed delivery fails the batch: nothing is committed, the consumer goes back to the
committed offsets, the stateful stages reload their partitions from the changelogs, and the
batch is tried again after a backoff. A crash at any point leaves at most a batch to redo,
and every stage is idempotent for a redone record (see ``kpis/`` for the stateful ones).
Offsets come from the group's commits (librdkafka), so records in a backlog that exists
when the worker starts, or when partitions move, are all read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from headwater.dlq import dlq_topic, omitted, reason_label
from headwater.errors import DependencyUnavailable, RejectedRecord
from headwater.kafka.clients import make_consumer, make_producer
from headwater.settings import Settings
from stream_processors.base import (
    Incoming,
    Stage,
    StatefulStage,
    dead_letter_headers,
    incoming,
)
from stream_processors.faust_metrics import ConsumerGauges
from stream_processors.metrics import (
    BATCH_FAILURES,
    EVENT_LAG_SECONDS,
    PROCESSING_SECONDS,
    RECORDS_FILTERED,
    RECORDS_IN,
    RECORDS_OUT,
    RECORDS_REJECTED,
)
from stream_processors.state import changelog_entries

log = logging.getLogger(__name__)

#: librdkafka's default partitioner for keyed records is CRC32; murmur2 is what the Java
#: clients and aiokafka (Faust's client, which wrote these topics before) use.
PARTITIONER = "murmur2_random"
#: client settings of the runner (also used by the benchmark's bare loop)
PRODUCER = {
    "linger.ms": 5,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "partitioner": PARTITIONER,
}
#: a short fetch wait: an idle partition does not hold back a batch (pre-fetch is bounded
#: for every consumer by ``make_consumer``)
CONSUMER = {"fetch.wait.max.ms": 100}
_BACKOFF_S = (0.5, 1, 2, 5, 10, 30)


class BatchFailed(DependencyUnavailable):
    """Kafka did not take every output of a batch; its offsets were not committed."""


class ConsumerFailed(DependencyUnavailable):
    """librdkafka reported a fatal consumer error: this consumer cannot go on."""


class TooLargeForKafka(RejectedRecord):
    """A record larger than the producer may send (``message.max.bytes``)."""


def produce_waiting(
    producer: Producer,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Any,
    on_delivery: Callable[[KafkaError | None, Message], None],
    partition: int = -1,
) -> None:
    """Produce one record, waiting while the local queue is full; a record larger than Kafka
    takes is :class:`TooLargeForKafka` (its stage dead-letters it)."""
    while True:
        try:
            producer.produce(
                topic, value, key, partition=partition, headers=headers, on_delivery=on_delivery
            )
            return
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                raise
            size = len(key or b"") + len(value or b"")
            raise TooLargeForKafka(
                f"a record of {size} bytes for {topic} is too large for Kafka "
                "(the producer's message.max.bytes)"
            ) from error


class _Deliveries:
    """Delivery reports of one flush: how many failed, and the first reason."""

    def __init__(self) -> None:
        self.failed = 0
        self.first: str | None = None

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.failed += 1
            if self.first is None:
                self.first = f"{message.topic()}[{message.partition()}]: {error}"


class BatchRunner:
    """Runs the stages on one consumer and one producer until asked to stop."""

    def __init__(
        self,
        settings: Settings,
        stages: Sequence[Stage],
        *,
        batch_size: int = 5000,
        poll_timeout_s: float = 0.1,
        producer_factory: Callable[..., Producer] | None = None,
    ) -> None:
        self.settings = settings
        self.stages = list(stages)
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.group = settings.processor.app_id
        self._by_topic: dict[str, Stage] = {}
        for stage in self.stages:
            for topic in stage.sources:
                if topic in self._by_topic:
                    raise ValueError(f"{topic} is read by two stages")
                self._by_topic[topic] = stage
        self._stateful = [s for s in self.stages if isinstance(s, StatefulStage)]
        make = producer_factory or make_producer
        self._producer = make(settings.kafka, **PRODUCER)
        self._consumer: Consumer | None = None
        self._assigned: set[tuple[str, int]] = set()
        self._pending: dict[tuple[str, int], int] = {}  # offsets processed, not yet committed
        #: assigned partitions whose state is not loaded yet (loaded outside the callback,
        #: which must not block on other Kafka clients)
        self._unrestored: list[TopicPartition] = []
        self._gauges = ConsumerGauges()
        self._dead_letters = {stage.label: dlq_topic(stage.label) for stage in self.stages}

    @property
    def assigned(self) -> bool:
        """Whether the group gave this worker any partition."""
        return bool(self._assigned)

    def run(self, stop: threading.Event) -> None:
        """Process batches until ``stop`` is set; commits and leaves the group on the way out."""
        consumer = make_consumer(self.settings.kafka, self.group, **CONSUMER)
        self._consumer = consumer
        consumer.subscribe(
            sorted(self._by_topic),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        failures = 0
        try:
            while not stop.is_set():
                messages = consumer.consume(self.batch_size, self.poll_timeout_s)
                try:
                    if self._unrestored:  # assigned in this call: state first, then records
                        self._restore(self._unrestored)
                        self._unrestored = []
                    if not messages:
                        self._gauges.refresh(consumer, self._assigned, idle=True)
                        continue
                    self._batch(consumer, messages)
                    failures = 0
                except ConsumerFailed:
                    raise  # the service exits; its next life has a new consumer
                except (DependencyUnavailable, KafkaException) as failed:
                    # Kafka did not take the outputs, or did not answer while state was read
                    # back: back to the committed offsets, for as long as Kafka is away.
                    BATCH_FAILURES.inc()
                    delay = _BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)]
                    failures += 1
                    log.error(
                        "batch not done: going back to the committed offsets",
                        extra={"error": str(failed), "retry_in_s": delay},
                    )
                    stop.wait(delay)
                    self._rewind_when_possible(consumer, stop)
                self._gauges.refresh(consumer, self._assigned)
        finally:
            self._producer.flush(10)
            consumer.close()  # leaves the group: its partitions move at once
            self._consumer = None

    # -- one batch -------------------------------------------------------------------------

    def _batch(self, consumer: Consumer, messages: list[Message]) -> None:
        started = time.perf_counter()
        deliveries = _Deliveries()
        offsets: dict[tuple[str, int], int] = {}
        seen: Counter[tuple[str, str]] = Counter()
        out: Counter[tuple[str, str]] = Counter()
        filtered: Counter[tuple[str, str]] = Counter()
        oldest: dict[str, int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                self._consumer_error(error)
                continue
            record = incoming(message)
            topic = record.topic
            stage = self._by_topic[topic]
            seen[(stage.label, topic)] += 1
            offsets[(topic, record.partition)] = record.offset + 1
            kind, stamp = message.timestamp()
            if kind and stamp > 0:
                oldest[stage.label] = min(oldest.get(stage.label, stamp), stamp)
            try:
                outputs = stage.process(record)
            except RejectedRecord as rejected:
                self._reject(stage, record, rejected.reason, deliveries)
                continue
            except Exception as error:
                self._reject(stage, record, f"{type(error).__name__}: {error}", deliveries)
                continue
            if not outputs:
                filtered[(stage.label, topic)] += 1
            try:
                for output in outputs:
                    self._produce(
                        output.topic, output.key, output.value, output.headers, deliveries
                    )
                    out[(stage.label, output.topic)] += 1
            except TooLargeForKafka as rejected:
                self._reject(stage, record, rejected.reason, deliveries)
        for stage in self._stateful:
            for output in stage.finish():
                self._produce(output.topic, output.key, output.value, output.headers, deliveries)
                out[(stage.label, output.topic)] += 1
        self._confirm(deliveries)
        self._save_state()
        self._pending.update(offsets)
        self._commit(consumer)
        elapsed = time.perf_counter() - started
        for (label, topic), count in seen.items():
            RECORDS_IN.labels(label, topic).inc(count)
        for (label, topic), count in out.items():
            RECORDS_OUT.labels(label, topic).inc(count)
        for (label, topic), count in filtered.items():
            RECORDS_FILTERED.labels(label, topic).inc(count)
        if seen:
            per_record = elapsed / sum(seen.values())
            for label in {label for label, _ in seen}:
                PROCESSING_SECONDS.labels(label).observe(per_record)
        now_ms = time.time() * 1000.0
        for label, stamp in oldest.items():
            EVENT_LAG_SECONDS.labels(label).observe(max(0.0, (now_ms - stamp) / 1000))
        self._gauges.received(len(messages))

    def _reject(self, stage: Stage, record: Incoming, reason: str, deliveries: _Deliveries) -> None:
        RECORDS_REJECTED.labels(stage.label, record.topic, reason_label(reason)).inc()
        log.warning(
            "rejected a record",
            extra={"stage": stage.name, "reason": reason, "topic": record.topic,
                   "partition": record.partition, "offset": record.offset},
        )  # fmt: skip
        headers = dead_letter_headers(stage.label, reason, record)
        topic = self._dead_letters[stage.label]
        try:
            self._produce(topic, record.key, record.value, headers, deliveries)
        except TooLargeForKafka:  # the original stays readable at its source coordinates
            size = len(record.key or b"") + len(record.value or b"")
            self._produce(topic, None, None, [*headers, omitted(size)], deliveries)

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Any,
        deliveries: _Deliveries,
        partition: int = -1,
    ) -> None:
        produce_waiting(self._producer, topic, key, value, headers, deliveries, partition)

    def _confirm(self, deliveries: _Deliveries) -> None:
        remaining = self._producer.flush(60)
        if remaining:
            raise BatchFailed(f"{remaining} records not acknowledged by Kafka within 60 s")
        if deliveries.failed:
            raise BatchFailed(
                f"{deliveries.failed} records not delivered, first: {deliveries.first}"
            )

    def _save_state(self) -> None:
        if not self._stateful:
            return
        deliveries = _Deliveries()
        for stage in self._stateful:
            for partition, key, value in stage.changes():
                self._produce(stage.changelog, key, value, None, deliveries, partition)
        self._confirm(deliveries)

    def _commit(self, consumer: Consumer) -> None:
        if not self._pending:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._pending.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except Exception as error:
            log.warning(
                "offset commit failed; retried with the next batch", extra={"error": str(error)}
            )
            return
        for (topic, partition), offset in self._pending.items():
            self._gauges.committed(topic, partition, offset)
        self._pending.clear()

    def _consumer_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.fatal():
            raise ConsumerFailed(f"Kafka consumer failed: {error}")
        log.warning("Kafka consumer error", extra={"error": str(error)})

    # -- failures and rebalances -----------------------------------------------------------

    def _rewind_when_possible(self, consumer: Consumer, stop: threading.Event) -> None:
        """Rewind, trying again while Kafka does not answer (a restarting broker)."""
        attempt = 0
        while not stop.is_set():
            try:
                self._rewind(consumer)
                return
            except (DependencyUnavailable, KafkaException) as error:
                delay = _BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)]
                attempt += 1
                log.warning(
                    "cannot go back to the committed offsets yet",
                    extra={"error": str(error), "retry_in_s": delay},
                )
                stop.wait(delay)

    def _rewind(self, consumer: Consumer) -> None:
        """Back to the committed offsets, with state reloaded from the changelogs."""
        self._pending.clear()
        self._unrestored = []
        for stage in self._stateful:
            stage.changes()  # drop what the failed batch changed
        assigned = [TopicPartition(t, p) for t, p in sorted(self._assigned)]
        self._restore(assigned)
        for tp in consumer.committed(assigned, timeout=30):
            offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            consumer.seek(TopicPartition(tp.topic, tp.partition, offset))

    def _restore(self, partitions: list[TopicPartition]) -> None:
        for stage in self._stateful:
            mine = sorted({tp.partition for tp in partitions if tp.topic in stage.sources})
            for partition in mine:
                stage.release(partition)
                started = time.perf_counter()
                count = stage_restore(self.settings, stage, partition)
                log.info(
                    "state restored",
                    extra={"stage": stage.name, "partition": partition, "entries": count,
                           "seconds": round(time.perf_counter() - started, 3)},
                )  # fmt: skip

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned |= {(tp.topic, tp.partition) for tp in partitions}
        self._gauges.rebalanced()
        log.info("partitions assigned", extra={"partitions": _names(partitions)})
        self._unrestored += partitions

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._commit(consumer)  # between batches: everything processed was delivered
        self._forget(partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._pending.clear()  # no longer ours to commit: the new owner redoes them
        self._forget(partitions)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        log.info("partitions revoked", extra={"partitions": _names(partitions)})
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._assigned -= revoked
        self._unrestored = [
            tp for tp in self._unrestored if (tp.topic, tp.partition) not in revoked
        ]
        for key in revoked:
            self._pending.pop(key, None)
            self._gauges.forget(*key)
        for stage in self._stateful:
            for topic, partition in revoked:
                if topic in stage.sources:
                    stage.release(partition)


def stage_restore(settings: Settings, stage: StatefulStage, partition: int) -> int:
    """Replay one changelog partition into the stage; the number of entries read."""
    count = 0

    def counted() -> Iterator[tuple[bytes, bytes | None]]:
        nonlocal count
        for entry in changelog_entries(settings.kafka, stage.changelog, partition):
            count += 1
            yield entry

    stage.restore(partition, counted())
    return count


def _names(partitions: list[TopicPartition]) -> list[str]:
    return [f"{tp.topic}[{tp.partition}]" for tp in partitions]
