"""The CDC mirror writer against the real warehouse: version guard, deletes, TOAST, truncate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from sinks.base import SinkRecord, WriteStats
from sinks.cdc.mirror import MirrorWriter
from stream_processors.cdc.columns import UNAVAILABLE
from stream_processors.cdc.normalize import normalize
from tests.support.debezium import ORDER_FIELDS, envelope, order_row


class Feed:
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


def _write(
    connection: psycopg.Connection, writer: MirrorWriter, batch: list[SinkRecord]
) -> WriteStats:
    with connection.transaction():
        stats = writer.write(connection, batch)
    return stats


def _rows(connection: psycopg.Connection, schema: str) -> list[tuple[Any, ...]]:
    return connection.execute(
        f'SELECT id, status, amount::text, notes, _lsn FROM "{schema}".src_orders ORDER BY id'
    ).fetchall()


def test_version_guard_toast_and_deletes(warehouse: psycopg.Connection, unique_name: str) -> None:
    feed, writer = Feed(unique_name), MirrorWriter()
    writer.prepare(warehouse)
    big = "x" * 9000
    batch = (
        feed("r", after=order_row(1, notes=big), lsn=100)
        + feed("c", after=order_row(2), lsn=110)
        + feed("u", after=order_row(1, status="shipped", notes=UNAVAILABLE), lsn=120)
    )
    stats = _write(warehouse, writer, batch)
    assert stats.rows_written == 2
    assert _rows(warehouse, unique_name) == [
        (1, "shipped", "1234.50", big, 120),
        (2, "paid", "1234.50", "Zoë Ångström 🚀", 110),
    ]
    # The placeholder in a later batch keeps the stored value too.
    _write(
        warehouse, writer, feed("u", after=order_row(1, status="paid", notes=UNAVAILABLE), lsn=130)
    )
    assert _rows(warehouse, unique_name)[0] == (1, "paid", "1234.50", big, 130)

    # An older change arriving late never overwrites a newer one.
    late = _write(warehouse, writer, feed("u", after=order_row(1, status="pending"), lsn=125))
    assert late.skipped_by_version == 1
    assert _rows(warehouse, unique_name)[0][1] == "paid"

    # Delete, then a replayed older insert does not resurrect the row.
    deleted = _write(warehouse, writer, feed("d", before={"id": 2}, lsn=140))
    assert deleted.rows_deleted == 1
    assert deleted.filtered == 1  # our tombstone
    _write(warehouse, writer, feed("c", after=order_row(2), lsn=110))
    assert [row[0] for row in _rows(warehouse, unique_name)] == [1]

    # A re-insert of the deleted key after the delete is a new row.
    _write(warehouse, writer, feed("c", after=order_row(2, status="pending"), lsn=150))
    assert _rows(warehouse, unique_name)[1] == (2, "pending", "1234.50", "Zoë Ångström 🚀", 150)


def test_every_type_lands_exactly(warehouse: psycopg.Connection, unique_name: str) -> None:
    feed, writer = Feed(unique_name), MirrorWriter()
    writer.prepare(warehouse)
    _write(warehouse, writer, feed("c", after=order_row(7), lsn=10))
    row = warehouse.execute(
        f"SELECT quantity, items, amount, currency, status, is_gift, order_date::text, "
        f"local_created::text, created_at AT TIME ZONE 'UTC', metadata->'tags'->>1, "
        f'order_uuid::text FROM "{unique_name}".src_orders'
    ).fetchone()
    assert row is not None
    assert row[:6] == (2, 3, Decimal("1234.50"), "EUR", "paid", False)
    assert row[6] == "2024-10-04"  # 20000 days after 1970-01-01
    assert row[7] == "2025-11-24 16:00:00.123456"
    assert str(row[8]) == "2026-11-25 10:15:30.123456"
    assert row[9] == "東京"
    assert row[10] == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    types = dict(
        warehouse.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0",
            (f'"{unique_name}".src_orders',),
        ).fetchall()
    )
    assert types["amount"] == "numeric(12,2)"
    assert types["created_at"] == "timestamp with time zone"
    assert types["local_created"] == "timestamp without time zone"
    assert types["metadata"] == "jsonb"
    assert types["order_uuid"] == "uuid"


def test_replaying_a_batch_changes_nothing(warehouse: psycopg.Connection, unique_name: str) -> None:
    feed, writer = Feed(unique_name), MirrorWriter()
    writer.prepare(warehouse)
    batch = [
        *feed("c", after=order_row(1), lsn=10),
        *feed("c", after=order_row(2), lsn=20),
        *feed("u", after=order_row(1, amount="AQ=="), lsn=30),  # 0.01
        *feed("d", before={"id": 2}, lsn=40),
    ]
    _write(warehouse, writer, batch)
    before = _rows(warehouse, unique_name)
    again = _write(warehouse, writer, batch)
    assert again.rows_written == 0
    assert again.rows_deleted == 0
    assert _rows(warehouse, unique_name) == before == [(1, "paid", "0.01", "Zoë Ångström 🚀", 30)]


def test_new_source_column_is_added(warehouse: psycopg.Connection, unique_name: str) -> None:
    feed, writer = Feed(unique_name), MirrorWriter()
    writer.prepare(warehouse)
    _write(warehouse, writer, feed("c", after=order_row(1), lsn=10))
    wider = [
        *ORDER_FIELDS,
        {
            "type": "string",
            "optional": True,
            "field": "coupon",
            "parameters": {"__debezium.source.column.type": "TEXT"},
        },
    ]
    _write(warehouse, writer, feed("c", after=order_row(2, coupon="BF-2026"), lsn=20, fields=wider))
    rows = warehouse.execute(
        f'SELECT id, coupon FROM "{unique_name}".src_orders ORDER BY id'
    ).fetchall()
    assert rows == [(1, None), (2, "BF-2026")]


def test_truncate_removes_older_rows_and_keeps_them_out(
    warehouse: psycopg.Connection, unique_name: str
) -> None:
    feed, writer = Feed(unique_name), MirrorWriter()
    writer.prepare(warehouse)
    _write(
        warehouse,
        writer,
        feed("c", after=order_row(1), lsn=10) + feed("c", after=order_row(2), lsn=20),
    )
    stats = _write(warehouse, writer, feed("t", lsn=30) + feed("c", after=order_row(3), lsn=40))
    assert stats.rows_deleted == 2
    _write(
        warehouse, writer, feed("c", after=order_row(1), lsn=10)
    )  # replayed, older than the truncate
    assert [row[0] for row in _rows(warehouse, unique_name)] == [3]
    warehouse.execute(
        "DELETE FROM headwater.cdc_truncations WHERE mirror = %s", (f"{unique_name}.src_orders",)
    )
    warehouse.commit()


def test_undecodable_record_is_rejected_not_written(
    warehouse: psycopg.Connection, unique_name: str
) -> None:
    feed, writer = Feed(unique_name), MirrorWriter()
    writer.prepare(warehouse)
    garbage = SinkRecord(f"norm.cdc.{unique_name}.orders", 0, 99, b"k", b"\xff\x00garbage")
    stats = _write(warehouse, writer, [*feed("c", after=order_row(1), lsn=10), garbage])
    assert [reject.reason.split(":")[0] for reject in stats.rejects] == ["not a CdcRow"]
    assert stats.rows_written == 1


def test_incremental_snapshot_rows_only_fill_gaps(
    warehouse: psycopg.Connection, unique_name: str
) -> None:
    feed, writer = Feed(unique_name), MirrorWriter()
    writer.prepare(warehouse)
    _write(warehouse, writer, feed("u", after=order_row(1, status="shipped"), lsn=500))
    _write(warehouse, writer, feed("d", before={"id": 3}, lsn=510))
    # Version 0: what the normalizer gives incremental-snapshot rows (they carry no LSN).
    snapshot = [
        *feed("r", after=order_row(1, status="pending"), lsn=0),
        *feed("r", after=order_row(2, status="pending"), lsn=0),
        *feed("r", after=order_row(3, status="pending"), lsn=0),
    ]
    _write(warehouse, writer, snapshot)
    assert [(row[0], row[1]) for row in _rows(warehouse, unique_name)] == [
        (1, "shipped"),
        (2, "pending"),
    ]
