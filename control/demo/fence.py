"""The end-of-run fence: one last change on the source database, made after the workload
stopped, so the demo knows when Debezium has published every change of the run.

Debezium reads the WAL in commit order: once the fence's change is on its topic, every change
committed before it is on the topics too. Until then, the run's source records are not all in
Kafka, and the demo cannot claim that every record is accounted for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from psycopg import sql

from control.demo.positions import Partition, Positions
from control.demo.reconcile import RangeReader, Record
from headwater.postgres import connect
from sandbox.source_db.schema import qualified

#: Debezium writes PostgreSQL's 32-bit transaction id in ``source.txId``.
XID_MODULUS = 2**32


@dataclass(frozen=True)
class Fence:
    """The fence transaction: the topic its change goes to, and its transaction id."""

    topic: str
    xid: int

    def matches(self, record: Record) -> bool:
        """Whether the record is Debezium's change event of the fence transaction."""
        value = record.value
        if record.topic != self.topic or not value or str(self.xid).encode() not in value:
            return False
        try:
            document = json.loads(value)
        except ValueError:
            return False
        envelope = document.get("payload", document) if isinstance(document, dict) else None
        source = envelope.get("source") if isinstance(envelope, dict) else None
        return isinstance(source, dict) and source.get("txId") == self.xid


def write_fence(source_dsn: str, schema: str, topic: str) -> Fence | None:
    """Touch one customer without changing it, in a transaction of its own (Debezium publishes
    the update on ``topic``); None when there is no customer to touch."""
    customers = qualified(schema, "customers")
    statement = sql.SQL(
        "UPDATE {customers} SET updated_at = updated_at"
        " WHERE id = (SELECT min(id) FROM {customers}) RETURNING pg_current_xact_id()::text"
    ).format(customers=customers)
    with connect(source_dsn) as connection:
        row = connection.execute(statement).fetchone()
        connection.commit()
    return None if row is None else Fence(topic, int(row[0]) % XID_MODULUS)


class FenceWatch:
    """Looks for the fence on its topic, reading only what was appended since the last look."""

    def __init__(
        self, fence: Fence, positions: Positions, reader: RangeReader, start: dict[Partition, int]
    ) -> None:
        self.fence = fence
        self._positions = positions
        self._reader = reader
        self._next = dict(start)  # the fence is at or after these offsets
        self._seen = False

    def seen(self) -> bool:
        """Whether the fence's change is on its topic (then Debezium published the run's)."""
        if not self._seen:
            ends = self._positions.ends([self.fence.topic])
            self._reader.read(
                {tp: (self._next.get(tp, 0), end) for tp, end in ends.items()}, self._look
            )
            self._next.update(ends)
        return self._seen

    def _look(self, record: Record) -> None:
        if self.fence.matches(record):
            self._seen = True


def place_fence(
    positions: Positions, reader: RangeReader, source_dsn: str, schema: str, topic: str
) -> FenceWatch | None:
    """Write the fence (after the workload's last commit) and watch for it on ``topic``."""
    start = positions.ends([topic])  # before the fence: Debezium may publish it at once
    fence = write_fence(source_dsn, schema, topic)
    return None if fence is None else FenceWatch(fence, positions, reader, start)
