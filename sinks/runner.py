"""The sink service loop: consume, batch by size and time, write, commit rows with offsets."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from contextlib import suppress

import psycopg
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from headwater.errors import ConfigurationError, DependencyUnavailable
from headwater.kafka.clients import make_consumer, make_producer
from headwater.postgres import connect
from headwater.settings import Settings
from sinks import metrics
from sinks.base import (
    BatchWriter,
    SinkError,
    SinkRecord,
    WarehouseUnavailable,
    WriteStats,
    sink_record,
)
from sinks.offsets import OffsetStore
from sinks.refusals import write_around_refusals
from sinks.rejects import DeadLettersNotAcknowledged, RejectOutbox
from sinks.schema_changes import write_after_schema_changes

log = logging.getLogger(__name__)

#: What a warehouse outage raises: the batch is written again once the warehouse is back.
WAREHOUSE_OUTAGE = (
    psycopg.OperationalError,  # connection lost, server shutting down, statement/lock timeout
    psycopg.InterfaceError,  # the connection is closed
    psycopg.errors.UniqueViolation,  # another writer inserted the key meanwhile
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    WarehouseUnavailable,  # a DDL that gave up waiting for its table's lock included
    DependencyUnavailable,  # another database the writer reads (the CDC sink: the source)
)
#: The longest wait between two tries, in seconds.
MAX_BACKOFF_S = 5.0
#: Seconds between refreshes of the lag gauge of every assigned partition.
LAG_REFRESH_S = 5.0


def warehouse_dsn(settings: Settings) -> str:
    """The warehouse's DSN; ConfigurationError naming the setting when it is not set."""
    if settings.warehouse.dsn is None:
        raise ConfigurationError("HEADWATER_WAREHOUSE__DSN", "is required by the sinks")
    return settings.warehouse.dsn.get_secret_value()


class SinkRunner:
    """Runs one writer over a set of topics until stopped, effects before offsets."""

    def __init__(
        self,
        settings: Settings,
        writer: BatchWriter,
        topics: Sequence[str],
        group_id: str | None = None,
        replay: bool = False,
    ) -> None:
        self._dsn = warehouse_dsn(settings)
        self.settings = settings
        self.writer = writer
        self.topics = list(topics)
        self.group_id = group_id or f"headwater-sink-{writer.name}"
        self.offsets = OffsetStore(self.group_id)
        self.rejects = RejectOutbox(self.group_id, writer.name)
        self._connection: psycopg.Connection | None = None
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._pending: list[SinkRecord] = []
        self._batch: list[SinkRecord] = []  # the batch being written (or waiting out an outage)
        self._lag_refreshed_at = 0.0
        self.assigned = threading.Event()
        #: set while the sink can write to the warehouse; clear while it waits out an outage
        self.available = threading.Event()
        self._stop = threading.Event()
        self._replay = replay

    # -- lifecycle -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Consume and write until ``stop`` is set, then write what is pending and close.

        A warehouse outage, at the start or during a batch, is waited out (capped backoff with
        jitter, ``available`` clear and ``headwater_sink_warehouse_up`` 0 meanwhile) for as
        long as it lasts; a stop during it leaves the batch unwritten, to be read again.
        """
        self._stop = stop
        connection = self._connect_when_available()
        if connection is None:
            return
        consumer = make_consumer(
            self.settings.kafka, self.group_id, **{"topic.metadata.refresh.interval.ms": 5000}
        )
        self._consumer = consumer
        consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("sink started", extra={"sink": self.group_id, "topics": self.topics})
        try:
            while not stop.is_set():
                self._collect(consumer, stop)
                flushed = bool(self._pending)
                if flushed:
                    self._flush()
                self._refresh_lag(consumer, due=flushed)
            if self._pending:
                self._flush()
        finally:
            consumer.close()
            if self._connection is not None:
                self._connection.close()
            log.info("sink stopped", extra={"sink": self.group_id})

    def _connect_when_available(self) -> psycopg.Connection | None:
        """The prepared connection, once the warehouse answers; None if stopped first."""
        attempt = 0
        while not self._stop.is_set():
            try:
                return self._connect()
            except WAREHOUSE_OUTAGE as error:
                attempt += 1
                self._unavailable(error, attempt)
                self._stop.wait(backoff_s(attempt))
        return None

    def _connect(self) -> psycopg.Connection:
        connection = self._open()
        # Sinks starting together on a new warehouse would race on CREATE ... IF NOT EXISTS
        # (not concurrency-safe in PostgreSQL): one prepares at a time.
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('headwater.sink.prepare'))")
        OffsetStore.prepare(connection)
        RejectOutbox.prepare(connection)
        self.writer.prepare(connection)
        if self._replay:
            forgotten = self.offsets.reset(connection)
            log.info(
                "replaying from the beginning",
                extra={"sink": self.group_id, "partitions": forgotten},
            )
            self._replay = False
        connection.commit()
        self._connection = connection
        self._publish_rejects()  # those a previous run committed but did not publish
        self._available()
        return connection

    def _open(self) -> psycopg.Connection:
        try:
            return connect(self._dsn, self.settings.warehouse)
        except psycopg.OperationalError as error:
            raise WarehouseUnavailable(f"cannot connect to the warehouse: {error}") from error

    # -- partitions ----------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._connection is None:  # assigned while the warehouse is away: start over later
            raise WarehouseUnavailable("partitions assigned during a warehouse outage")
        stored = self.offsets.load(self._connection, [(p.topic, p.partition) for p in partitions])
        self._connection.commit()
        for partition in partitions:
            partition.offset = stored.get((partition.topic, partition.partition), OFFSET_BEGINNING)
        consumer.assign(partitions)
        self.assigned.set()
        log.info(
            "partitions assigned",
            extra={
                "sink": self.group_id,
                "resume_at": {f"{p.topic}[{p.partition}]": p.offset for p in partitions},
            },
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(p.topic, p.partition) for p in partitions}
        # Not yet written: the next owner resumes from the offsets stored in the warehouse.
        self._pending = [r for r in self._pending if (r.topic, r.partition) not in revoked]
        # Nor a batch waiting out an outage: it must not write (nor store offsets of)
        # partitions another sink now owns.
        self._batch = [r for r in self._batch if (r.topic, r.partition) not in revoked]
        consumer.unassign()
        self.assigned.clear()

    # -- batching ------------------------------------------------------------------------

    def _collect(self, consumer: Consumer, stop: threading.Event) -> None:
        limit = self.settings.sink.batch_size
        deadline = time.monotonic() + self.settings.sink.batch_interval_s
        while len(self._pending) < limit and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for message in consumer.consume(
                min(limit - len(self._pending), 1000), min(remaining, 0.5)
            ):
                self._accept(message)

    def _accept(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                return
            if error.retriable() or not error.fatal():
                log.warning("consumer error", extra={"sink": self.group_id, "error": str(error)})
                return
            raise WarehouseUnavailable(f"fatal Kafka consumer error: {error}")
        self._pending.append(sink_record(message))

    # -- writing -------------------------------------------------------------------------

    def _flush(self) -> None:
        self._batch, self._pending = self._pending, []
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                if self._connection is None:
                    self._connection = self._open()
                batch = self._batch  # without partitions revoked while it waited
                stats = self._write(batch)
                break
            except WAREHOUSE_OUTAGE as error:
                attempt += 1
                metrics.RETRIES.labels(self.group_id).inc()
                self._unavailable(error, attempt)
                self._drop_connection()
                if not self._wait_out(backoff_s(attempt)):
                    log.warning(
                        "stopped during a warehouse outage; the batch is read again on start",
                        extra={"sink": self.group_id, "records": len(batch)},
                    )
                    return
        self._available()
        committed_at = time.time()
        self._observe(batch, stats, time.monotonic() - started, committed_at)
        if stats.rejects:
            self._publish_rejects()
        self._commit_to_kafka(batch)

    def _wait_out(self, seconds: float) -> bool:
        """Wait, polling the paused consumer so it keeps its partitions; False if stopped."""
        consumer = self._consumer
        deadline = time.monotonic() + seconds
        if consumer is None:
            return not self._stop.wait(seconds)
        assignment = consumer.assignment()
        consumer.pause(assignment)
        try:
            while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
                message = consumer.poll(min(left, 1.0))  # paused: only callbacks and heartbeats
                if message is not None and message.error() is None:  # fetched before the pause
                    raise SinkError("a paused consumer returned a record")  # pragma: no cover
        finally:
            consumer.resume(consumer.assignment())
        return not self._stop.is_set()

    def _unavailable(self, error: BaseException, attempt: int) -> None:
        self.available.clear()
        metrics.WAREHOUSE_UP.labels(self.group_id).set(0)
        log.warning(
            "warehouse unavailable; waiting it out",
            extra={"sink": self.group_id, "attempt": attempt, "error": str(error)},
        )

    def _available(self) -> None:
        if not self.available.is_set():
            self.available.set()
            metrics.WAREHOUSE_UP.labels(self.group_id).set(1)

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with suppress(psycopg.Error):
                self._connection.close()
        self._connection = None

    def _write(self, batch: list[SinkRecord]) -> WriteStats:
        connection = self._connection
        assert connection is not None
        next_offsets: dict[tuple[str, int], int] = {}
        for record in batch:
            key = (record.topic, record.partition)
            next_offsets[key] = max(next_offsets.get(key, 0), record.offset + 1)

        def write() -> WriteStats:
            with connection.transaction():
                stats = write_around_refusals(connection, self.writer, batch, self.group_id)
                self.rejects.add(connection, stats.rejects)  # published once this commits
                self.offsets.save(connection, next_offsets)
            return stats

        # The DDL the batch needs runs first, outside its transaction (sinks/schema_changes.py).
        return write_after_schema_changes(connection, write, self.settings.sink.ddl_lock_timeout_s)

    def _publish_rejects(self) -> None:
        """Publish the committed rejects to ``dlq.sink``; what fails stays for the next try."""
        assert self._connection is not None
        if self._producer is None:
            self._producer = make_producer(self.settings.kafka)
        try:
            self.rejects.publish(self._connection, self._producer)
        except (DeadLettersNotAcknowledged, *WAREHOUSE_OUTAGE) as error:
            log.warning(
                "dead letters not published yet", extra={"sink": self.group_id, "error": str(error)}
            )

    def _observe(
        self, batch: list[SinkRecord], stats: WriteStats, seconds: float, committed_at: float
    ) -> None:
        sink = self.group_id
        metrics.BATCHES.labels(sink).inc()
        metrics.BATCH_SIZE.labels(sink).observe(len(batch))
        metrics.FLUSH_SECONDS.labels(sink).observe(seconds)
        metrics.ROWS.labels(sink, "written").inc(stats.rows_written)
        metrics.ROWS.labels(sink, "deleted").inc(stats.rows_deleted)
        metrics.ROWS.labels(sink, "completed").inc(stats.rows_completed)
        metrics.SKIPPED_BY_VERSION.labels(sink).inc(stats.skipped_by_version)
        metrics.RECORDS.labels(sink, "rejected").inc(len(stats.rejects))
        metrics.RECORDS.labels(sink, "filtered").inc(stats.filtered)
        metrics.RECORDS.labels(sink, "applied").inc(
            len(batch) - len(stats.rejects) - stats.filtered
        )
        for source_us in stats.source_times_us:
            metrics.COMMIT_LATENCY.labels(sink).observe(max(0.0, committed_at - source_us / 1e6))

    def _refresh_lag(self, consumer: Consumer, due: bool) -> None:
        """Lag of every assigned partition: after each batch, and every few seconds without
        one, so an idle or stuck sink still reports it."""
        now = time.monotonic()
        if not due and now - self._lag_refreshed_at < LAG_REFRESH_S:
            return
        self._lag_refreshed_at = now
        try:
            positions = consumer.position(consumer.assignment())
        except KafkaException as error:  # lag monitoring must not stop the sink
            log.warning("lag refresh failed", extra={"sink": self.group_id, "error": str(error)})
            return
        for position in positions:
            _, high = consumer.get_watermark_offsets(position, cached=True)
            if position.offset >= 0 and high >= 0:
                metrics.CONSUMER_LAG.labels(
                    self.group_id, position.topic, str(position.partition)
                ).set(max(0, high - position.offset))

    def _commit_to_kafka(self, batch: list[SinkRecord]) -> None:
        """Mirror the warehouse offsets to Kafka, for other tools' lag monitoring only."""
        consumer = self._consumer
        assert consumer is not None
        latest: dict[tuple[str, int], int] = {}
        for record in batch:
            latest[(record.topic, record.partition)] = record.offset + 1
        partitions = [TopicPartition(t, p, o) for (t, p), o in latest.items()]
        try:
            consumer.commit(offsets=partitions, asynchronous=True)
        except Exception as error:  # lag monitoring must not stop the sink
            log.warning("kafka commit failed", extra={"sink": self.group_id, "error": str(error)})


def backoff_s(attempt: int) -> float:
    """Seconds before try ``attempt + 1``: doubling from 0.5 s up to 5 s, with jitter (so
    sinks that lost the warehouse together do not come back in step). A connection attempt is
    cheap, and a short ceiling writes to a recovered warehouse within seconds."""
    ceiling: float = min(MAX_BACKOFF_S, 0.5 * 2.0**attempt)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311
