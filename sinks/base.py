"""The sink contract: a writer turns one batch of Kafka records into warehouse rows.

The runner (``sinks/runner.py``) owns the consumer, the batching and the offsets: it calls
``write`` inside a warehouse transaction and stores the batch's offsets in that same
transaction, so rows and offsets commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import psycopg

from headwater.errors import Terminal, Transient


class SinkError(Terminal):
    """A sink cannot go on: a bug or a warehouse it cannot write to."""


class WarehouseUnavailable(Transient):
    """The warehouse did not answer; the batch is retried."""


@dataclass(frozen=True)
class SinkRecord:
    """One consumed Kafka message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None


@dataclass
class WriteStats:
    """What one batch did to the warehouse."""

    rows_written: int = 0
    rows_deleted: int = 0
    skipped_by_version: int = 0
    filtered: int = 0
    rejects: list[tuple[SinkRecord, str]] = field(default_factory=list)
    source_times_us: list[int] = field(default_factory=list)


class BatchWriter(Protocol):
    """Writes a batch into the warehouse inside the caller's transaction."""

    name: str

    def prepare(self, connection: psycopg.Connection) -> None:
        """Create the writer's own tables; called once at start, idempotent."""

    def write(self, connection: psycopg.Connection, batch: list[SinkRecord]) -> WriteStats:
        """Stage and merge the batch; must not commit (the runner does, with the offsets)."""
