"""The CDC mirror writer driven as the sink runs it, from Debezium events made in the test."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg

from sinks.base import SinkRecord, WriteStats
from sinks.cdc.mirror import MirrorWriter
from sinks.schema_changes import write_after_schema_changes
from stream_processors.cdc.normalize import normalize
from tests.support.debezium import envelope


class CdcFeed:
    """Normalizes Debezium events into sink records with increasing offsets."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.offset = 0

    def __call__(self, op: str, **kwargs: Any) -> list[SinkRecord]:
        key, value = envelope(op, schema=self.schema, **kwargs)
        records = []
        for output in normalize(key, value):
            records.append(SinkRecord(output.topic, 0, self.offset, output.key, output.value))
            self.offset += 1
        return records


def processed(events: Iterable[tuple[Any, Any]]) -> list[SinkRecord]:
    """The processor's outputs for Debezium events (key and value as parsed JSON, as the
    connector wrote them), with increasing offsets, as the sink consumes them."""
    consumed = []
    for offset, (key, value) in enumerate(events):
        key_bytes = None if key is None else json.dumps(key).encode()
        value_bytes = None if value is None else json.dumps(value).encode()
        for output in normalize(key_bytes, value_bytes):
            consumed.append(SinkRecord(output.topic, 0, offset, output.key, output.value))
    return consumed


def write_batch(
    connection: psycopg.Connection,
    writer: MirrorWriter,
    batch: list[SinkRecord],
    lock_timeout_s: float = 5.0,
) -> WriteStats:
    """Write the batch as the sink runner does: the DDL it needs first, each in a transaction
    of its own, then the batch in one transaction. What the test read before is committed
    first, as the runner has nothing open between batches."""
    connection.commit()

    def attempt() -> WriteStats:
        with connection.transaction():
            return writer.write(connection, batch)

    return write_after_schema_changes(connection, attempt, lock_timeout_s=lock_timeout_s)
