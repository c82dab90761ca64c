"""The sink contract: a writer turns one batch of Kafka records into warehouse rows.

The runner (``sinks/runner.py``) owns the consumer, the batching and the offsets: it calls
``write`` inside a warehouse transaction and stores the batch's offsets in that same
transaction, so rows and offsets commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import psycopg
from confluent_kafka import Message

from headwater.avro import DECODE_ERRORS as DECODE_ERRORS
from headwater.errors import Terminal, Transient
from headwater.kafka.clients import message_headers


def is_refusal(error: BaseException) -> bool:
    """Whether the warehouse (or our encoding for it) refused the data itself, so that the
    same records would fail again however often they were retried: a value out of range, a
    NUL byte, a NOT NULL or CHECK violation, a value that does not decode. A lost connection,
    a lock timeout or a race on a key are not refusals: those batches are retried."""
    if isinstance(error, psycopg.errors.UniqueViolation):  # another writer raced us to a key
        return False
    if isinstance(error, (psycopg.DataError, psycopg.IntegrityError)):
        return True
    return isinstance(error, DECODE_ERRORS) and not isinstance(error, psycopg.Error)


class SinkError(Terminal):
    """A sink cannot go on: a bug or a warehouse it cannot write to."""


class WarehouseUnavailable(Transient):
    """The warehouse did not answer; the batch is retried."""


@dataclass(frozen=True)
class SchemaChange:
    """One DDL step a batch needs before it can be written: which table, what, and how."""

    table: str
    description: str
    apply: Callable[[psycopg.Connection], None]


class SchemaChangeRequired(Transient):
    """Raised by ``write`` before it wrote anything: the batch needs ``changes`` first.

    DDL never runs inside the batch transaction: a batch rolled back (a refused record, an
    outage) would take a created table or an added column with it, and the table's lock
    would be held until the batch commits. The runner applies the changes, each in a short
    transaction of its own with a bounded lock wait, then writes the batch again
    (``sinks/schema_changes.py``).
    """

    def __init__(self, changes: list[SchemaChange]) -> None:
        self.changes = changes
        super().__init__("; ".join(f"{c.table}: {c.description}" for c in changes))


@dataclass(frozen=True)
class SinkRecord:
    """One consumed Kafka message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None
    headers: tuple[tuple[str, bytes | None], ...] = ()


def sink_record(message: Message) -> SinkRecord:
    """A consumed message (not an error) as a record."""
    timestamp_type, timestamp = message.timestamp()
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise WarehouseUnavailable("consumer returned a message without its coordinates")
    return SinkRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        key=message.key(),
        value=message.value(),
        timestamp_ms=timestamp if timestamp_type else None,
        headers=message_headers(message),
    )


@dataclass(frozen=True)
class Reject:
    """A record the sink will not write: why, and the class of the error that said so."""

    record: SinkRecord
    reason: str
    error: str


@dataclass
class WriteStats:
    """What one batch did to the warehouse."""

    rows_written: int = 0
    rows_deleted: int = 0
    #: rows of ``rows_written`` whose missing values were read from the source (CDC: a row
    #: first seen through an update that left its unchanged TOASTed values out)
    rows_completed: int = 0
    skipped_by_version: int = 0
    filtered: int = 0
    rejects: list[Reject] = field(default_factory=list)
    source_times_us: list[int] = field(default_factory=list)


class BatchWriter(Protocol):
    """Writes a batch into the warehouse inside the caller's transaction."""

    name: str

    def prepare(self, connection: psycopg.Connection) -> None:
        """Create the writer's own tables; called once at start, idempotent."""

    def write(self, connection: psycopg.Connection, batch: list[SinkRecord]) -> WriteStats:
        """Stage and merge the batch; must not commit (the runner does, with the offsets).

        A batch that needs DDL first raises :class:`SchemaChangeRequired` before writing.
        """
