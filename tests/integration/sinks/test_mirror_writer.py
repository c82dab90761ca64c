"""The CDC mirror writer against the real warehouse: version guard, deletes, TOAST, truncate,
and source schema changes (a widened or changed column type, a dropped column)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from headwater.privacy.pseudonyms import Pseudonymizer
from headwater.settings import DatabaseSettings, Settings
from sinks.base import SinkRecord, WriteStats
from sinks.cdc.mirror import MirrorWriter
from sinks.cdc.source_rows import SourceUnavailable
from sinks.runner import WAREHOUSE_OUTAGE
from stream_processors.cdc.columns import UNAVAILABLE
from tests.support.debezium import ORDER_FIELDS, decimal_bytes, order_row
from tests.support.mirror import CdcFeed, write_batch


def _write(
    connection: psycopg.Connection, writer: MirrorWriter, batch: list[SinkRecord]
) -> WriteStats:
    return write_batch(connection, writer, batch)


def _rows(connection: psycopg.Connection, schema: str) -> list[tuple[Any, ...]]:
    return connection.execute(
        f'SELECT id, status, amount::text, notes, _lsn FROM "{schema}".src_orders ORDER BY id'
    ).fetchall()


def test_version_guard_toast_and_deletes(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    big = "x" * 9000
    batch = (
        feed("r", after=order_row(1, notes=big), lsn=100)
        + feed("c", after=order_row(2), lsn=110)
        + feed("u", after=order_row(1, status="shipped", notes=UNAVAILABLE), lsn=120)
    )
    stats = _write(warehouse, mirror_writer, batch)
    assert stats.rows_written == 2
    assert _rows(warehouse, unique_name) == [
        (1, "shipped", "1234.50", big, 120),
        (2, "paid", "1234.50", "Zoë Ångström 🚀", 110),
    ]
    # The placeholder in a later batch keeps the stored value too.
    _write(
        warehouse,
        mirror_writer,
        feed("u", after=order_row(1, status="paid", notes=UNAVAILABLE), lsn=130),
    )
    assert _rows(warehouse, unique_name)[0] == (1, "paid", "1234.50", big, 130)

    # An older change arriving late never overwrites a newer one.
    late = _write(
        warehouse, mirror_writer, feed("u", after=order_row(1, status="pending"), lsn=125)
    )
    assert late.skipped_by_version == 1
    assert _rows(warehouse, unique_name)[0][1] == "paid"

    # Delete, then a replayed older insert does not resurrect the row.
    deleted = _write(warehouse, mirror_writer, feed("d", before={"id": 2}, lsn=140))
    assert deleted.rows_deleted == 1
    assert deleted.filtered == 1  # our tombstone
    _write(warehouse, mirror_writer, feed("c", after=order_row(2), lsn=110))
    assert [row[0] for row in _rows(warehouse, unique_name)] == [1]

    # A re-insert of the deleted key after the delete is a new row.
    _write(warehouse, mirror_writer, feed("c", after=order_row(2, status="pending"), lsn=150))
    assert _rows(warehouse, unique_name)[1] == (2, "pending", "1234.50", "Zoë Ångström 🚀", 150)


def test_every_type_lands_exactly(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(warehouse, mirror_writer, feed("c", after=order_row(7), lsn=10))
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


def test_replaying_a_batch_changes_nothing(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    batch = [
        *feed("c", after=order_row(1), lsn=10),
        *feed("c", after=order_row(2), lsn=20),
        *feed("u", after=order_row(1, amount="AQ=="), lsn=30),  # 0.01
        *feed("d", before={"id": 2}, lsn=40),
    ]
    _write(warehouse, mirror_writer, batch)
    before = _rows(warehouse, unique_name)
    again = _write(warehouse, mirror_writer, batch)
    assert again.rows_written == 0
    assert again.rows_deleted == 0
    assert _rows(warehouse, unique_name) == before == [(1, "paid", "0.01", "Zoë Ångström 🚀", 30)]


def test_new_source_column_is_added(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(warehouse, mirror_writer, feed("c", after=order_row(1), lsn=10))
    wider = [
        *ORDER_FIELDS,
        {
            "type": "string",
            "optional": True,
            "field": "coupon",
            "parameters": {"__debezium.source.column.type": "TEXT"},
        },
    ]
    _write(
        warehouse,
        mirror_writer,
        feed("c", after=order_row(2, coupon="BF-2026"), lsn=20, fields=wider),
    )
    rows = warehouse.execute(
        f'SELECT id, coupon FROM "{unique_name}".src_orders ORDER BY id'
    ).fetchall()
    assert rows == [(1, None), (2, "BF-2026")]


def test_truncate_removes_older_rows_and_keeps_them_out(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(
        warehouse,
        mirror_writer,
        feed("c", after=order_row(1), lsn=10) + feed("c", after=order_row(2), lsn=20),
    )
    stats = _write(
        warehouse, mirror_writer, feed("t", lsn=30) + feed("c", after=order_row(3), lsn=40)
    )
    assert stats.rows_deleted == 2
    _write(
        warehouse, mirror_writer, feed("c", after=order_row(1), lsn=10)
    )  # replayed, older than the truncate
    assert [row[0] for row in _rows(warehouse, unique_name)] == [3]
    warehouse.execute(
        "DELETE FROM headwater.cdc_truncations WHERE mirror = %s", (f"{unique_name}.src_orders",)
    )
    warehouse.commit()


def test_undecodable_record_is_rejected_not_written(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    garbage = SinkRecord(f"norm.cdc.{unique_name}.orders", 0, 99, b"k", b"\xff\x00garbage")
    stats = _write(warehouse, mirror_writer, [*feed("c", after=order_row(1), lsn=10), garbage])
    assert [reject.reason.split(":")[0] for reject in stats.rejects] == ["not a CdcRow"]
    assert stats.rows_written == 1


def test_incremental_snapshot_rows_only_fill_gaps(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(warehouse, mirror_writer, feed("u", after=order_row(1, status="shipped"), lsn=500))
    _write(warehouse, mirror_writer, feed("d", before={"id": 3}, lsn=510))
    # Version 0: what the normalizer gives incremental-snapshot rows (they carry no LSN).
    snapshot = [
        *feed("r", after=order_row(1, status="pending"), lsn=0),
        *feed("r", after=order_row(2, status="pending"), lsn=0),
        *feed("r", after=order_row(3, status="pending"), lsn=0),
    ]
    _write(warehouse, mirror_writer, snapshot)
    assert [(row[0], row[1]) for row in _rows(warehouse, unique_name)] == [
        (1, "shipped"),
        (2, "pending"),
    ]


def _types(
    connection: psycopg.Connection, schema: str, table: str = "src_orders"
) -> dict[str, str]:
    return dict(
        connection.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (f'"{schema}".{table}',),
        ).fetchall()
    )


def _with_fields(**replaced: dict[str, Any]) -> list[dict[str, Any]]:
    """ORDER_FIELDS with some columns' field schemas replaced (a source type change)."""
    return [
        {**replaced[f["field"]], "field": f["field"]} if f["field"] in replaced else f
        for f in ORDER_FIELDS
    ]


def _source_type(kind: str, reported: str, **parameters: str) -> dict[str, Any]:
    return {
        "type": kind,
        "optional": True,
        "parameters": {"__debezium.source.column.type": reported, **parameters},
    }


WIDER = _with_fields(
    items=_source_type("int64", "INT8"),  # int4 -> int8
    status=_source_type("string", "VARCHAR", **{"__debezium.source.column.length": "200"}),
    amount={
        **_source_type(
            "bytes",
            "NUMERIC",
            scale="4",
            **{
                "connect.decimal.precision": "16",
                "__debezium.source.column.length": "16",
                "__debezium.source.column.scale": "4",
            },
        ),
        "name": "org.apache.kafka.connect.data.Decimal",
        "version": 1,
    },
)


def test_a_widened_source_column_widens_the_mirror_column(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(warehouse, mirror_writer, feed("c", after=order_row(1), lsn=10))
    assert _types(warehouse, unique_name)["items"] == "integer"
    widened = order_row(
        2, items=3_000_000_000, status="s" * 150, amount=decimal_bytes("123456789012.3456", 4)
    )
    stats = _write(warehouse, mirror_writer, feed("c", after=widened, lsn=20, fields=WIDER))
    assert stats.rows_written == 1
    types = _types(warehouse, unique_name)
    assert (types["items"], types["status"], types["amount"]) == (
        "bigint",
        "character varying(200)",
        "numeric(16,4)",
    )
    rows = warehouse.execute(
        f'SELECT id, items, length(status), amount::text FROM "{unique_name}".src_orders '
        "ORDER BY id"
    ).fetchall()
    assert rows == [(1, 3, 4, "1234.5000"), (2, 3_000_000_000, 150, "123456789012.3456")]
    # The deleted-keys table follows a widened key column too.
    bigger_key = _with_fields(id={**_source_type("string", "TEXT"), "optional": False})
    _write(warehouse, mirror_writer, feed("c", after=order_row("A-3"), lsn=30, fields=bigger_key))
    _write(warehouse, mirror_writer, feed("d", before={"id": "A-3"}, lsn=40, fields=bigger_key))
    assert _types(warehouse, unique_name)["id"] == "text"
    assert _types(warehouse, "headwater", f"deleted_{unique_name}__orders")["id"] == "text"
    assert [row[0] for row in _rows(warehouse, unique_name)] == ["1", "2"]


def test_a_narrower_type_leaves_the_wider_mirror_column(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(
        warehouse,
        mirror_writer,
        feed("c", after=order_row(1, items=5_000_000_000), lsn=10, fields=WIDER),
    )
    # A replay of changes made before the source widened the column: still int4, varchar(20).
    _write(warehouse, mirror_writer, feed("u", after=order_row(1, items=7), lsn=5))
    _write(warehouse, mirror_writer, feed("c", after=order_row(2, items=8), lsn=20))
    types = _types(warehouse, unique_name)
    assert (types["items"], types["status"]) == ("bigint", "character varying(200)")
    rows = warehouse.execute(f'SELECT id, items FROM "{unique_name}".src_orders ORDER BY id')
    assert rows.fetchall() == [(1, 5_000_000_000), (2, 8)]


def test_a_type_no_wider_type_holds_turns_the_column_into_text(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(warehouse, mirror_writer, feed("c", after=order_row(1), lsn=10))
    as_text = _with_fields(
        quantity=_source_type("string", "TEXT"), is_gift=_source_type("string", "TEXT")
    )
    _write(
        warehouse,
        mirror_writer,
        feed(
            "c", after=order_row(2, quantity="two boxes", is_gift="maybe"), lsn=20, fields=as_text
        ),
    )
    types = _types(warehouse, unique_name)
    assert (types["quantity"], types["is_gift"]) == ("text", "text")
    rows = warehouse.execute(
        f'SELECT id, quantity, is_gift FROM "{unique_name}".src_orders ORDER BY id'
    ).fetchall()
    assert rows == [(1, "2", "false"), (2, "two boxes", "maybe")]


def test_a_dropped_source_column_is_null_in_every_row_written_after(
    warehouse: psycopg.Connection, feed: CdcFeed, mirror_writer: MirrorWriter, unique_name: str
) -> None:
    _write(
        warehouse,
        mirror_writer,
        feed("c", after=order_row(1, notes="one"), lsn=10)
        + feed("c", after=order_row(2, notes="two"), lsn=20),
    )
    without_notes = [f for f in ORDER_FIELDS if f["field"] != "notes"]
    row = {k: v for k, v in order_row(1, status="shipped").items() if k != "notes"}
    new = {k: v for k, v in order_row(3).items() if k != "notes"}
    _write(
        warehouse,
        mirror_writer,
        feed("u", after=row, lsn=30, fields=without_notes)
        + feed("c", after=new, lsn=40, fields=without_notes),
    )
    assert [(r[0], r[1], r[3]) for r in _rows(warehouse, unique_name)] == [
        (1, "shipped", None),  # a new version of the row: the source has no notes any more
        (2, "paid", "two"),  # untouched since: its value from before the drop
        (3, "paid", None),
    ]
    assert "notes" in _types(warehouse, unique_name)  # kept: queries that name it still run


@pytest.fixture
def source(settings: Settings, unique_name: str) -> Iterator[psycopg.Connection]:
    """The source database with ``<unique_name>.orders`` (id, status, notes), dropped after."""
    assert settings.source.dsn is not None
    with psycopg.connect(settings.source.dsn.get_secret_value(), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{unique_name}"')
        connection.execute(
            f'CREATE TABLE "{unique_name}".orders '
            "(id bigint PRIMARY KEY, status varchar(20), notes text, metadata jsonb, blob bytea)"
        )
        yield connection
        connection.execute(f'DROP SCHEMA "{unique_name}" CASCADE')


def test_a_row_first_seen_through_an_update_is_completed_from_the_source(
    warehouse: psycopg.Connection,
    source: psycopg.Connection,
    feed: CdcFeed,
    mirror_writer: MirrorWriter,
    unique_name: str,
) -> None:
    big = "ü" * 9000
    source.execute(
        f'INSERT INTO "{unique_name}".orders (id, status, notes, metadata) VALUES '
        """(1, 'shipped', %s, '{"tags": ["a"]}'), (2, 'paid', 'two', NULL)""",
        (big,),
    )
    # The mirror has row 2 already: its unchanged columns keep their value, no source read.
    _write(warehouse, mirror_writer, feed("c", after=order_row(2, notes="two"), lsn=50))
    unknown = {"notes": UNAVAILABLE, "metadata": UNAVAILABLE}
    batch = [
        *feed("u", after=order_row(1, status="shipped", **unknown), lsn=200),  # first seen
        *feed("u", after=order_row(2, status="paid", **unknown), lsn=210),
        *feed("u", after=order_row(3, **unknown), lsn=220),  # deleted at the source since
    ]
    stats = _write(warehouse, mirror_writer, batch)
    # Row 1 completed from the source; row 3 superseded by its delete, still on its way.
    assert (stats.rows_written, stats.rows_completed, stats.skipped_by_version) == (2, 1, 1)
    rows = warehouse.execute(
        f"SELECT id, status, notes, metadata->'tags'->>0, _lsn FROM \"{unique_name}\".src_orders "
        "ORDER BY id"
    ).fetchall()
    assert rows == [
        (1, "shipped", big, "a", 200),
        (2, "paid", "two", "ß", 210),  # the values the mirror had, not read from the source
    ]
    # Row 3's delete arrives later in the stream; the mirror never held it with NULLs.
    _write(warehouse, mirror_writer, feed("d", before={"id": 3}, lsn=230))
    assert [row[0] for row in _rows(warehouse, unique_name)] == [1, 2]


def test_completed_values_are_the_source_values_of_every_type(
    warehouse: psycopg.Connection,
    source: psycopg.Connection,
    feed: CdcFeed,
    mirror_writer: MirrorWriter,
    unique_name: str,
) -> None:
    source.execute(
        f'INSERT INTO "{unique_name}".orders (id, notes, metadata, blob) VALUES '
        """(4, NULL, '"just a string"', '\\x00ff'), (5, 'five', NULL, NULL)"""
    )
    with_blob = [*ORDER_FIELDS, {**_source_type("bytes", "BYTEA"), "field": "blob"}]
    placeholder = base64.b64encode(UNAVAILABLE.encode()).decode()
    unknown = {"notes": UNAVAILABLE, "metadata": UNAVAILABLE, "blob": placeholder}
    stats = _write(
        warehouse,
        mirror_writer,
        feed("u", after=order_row(4, **unknown), lsn=10, fields=with_blob)
        + feed("u", after=order_row(5, **unknown), lsn=20, fields=with_blob),
    )
    assert stats.rows_completed == 2
    rows = warehouse.execute(
        f'SELECT id, notes, metadata::text, blob FROM "{unique_name}".src_orders ORDER BY id'
    ).fetchall()
    assert rows == [(4, None, '"just a string"', b"\x00\xff"), (5, "five", None, None)]


def test_without_a_source_an_incomplete_row_is_dead_lettered_not_written(
    settings: Settings, warehouse: psycopg.Connection, feed: CdcFeed, unique_name: str
) -> None:
    writer = MirrorWriter(settings.model_copy(update={"source": DatabaseSettings()}))
    writer.prepare(warehouse)
    batch = [
        *feed("c", after=order_row(1), lsn=10),
        *feed("u", after=order_row(2, notes=UNAVAILABLE), lsn=20),
    ]
    stats = _write(warehouse, writer, batch)
    assert stats.rows_written == 1
    assert [(r.record.offset, r.error) for r in stats.rejects] == [(1, "ConfigurationError")]
    assert "HEADWATER_SOURCE__DSN" in stats.rejects[0].reason
    assert "notes" in stats.rejects[0].reason
    assert [row[0] for row in _rows(warehouse, unique_name)] == [1]


def test_an_unreachable_source_is_waited_out_not_dead_lettered(
    settings: Settings, warehouse: psycopg.Connection, feed: CdcFeed, unique_name: str
) -> None:
    away = DatabaseSettings(dsn=SecretStr("postgresql://nobody@127.0.0.1:9/app"))
    writer = MirrorWriter(settings.model_copy(update={"source": away}))
    writer.prepare(warehouse)
    with pytest.raises(SourceUnavailable, match="cannot connect to the source"):
        _write(warehouse, writer, feed("u", after=order_row(1, notes=UNAVAILABLE), lsn=20))
    assert issubclass(SourceUnavailable, WAREHOUSE_OUTAGE)  # the runner waits it out
    assert _rows(warehouse, unique_name) == []


def test_a_hashed_column_completed_from_the_source_lands_as_its_pseudonym(
    settings: Settings,
    warehouse: psycopg.Connection,
    source: psycopg.Connection,
    feed: CdcFeed,
    unique_name: str,
) -> None:
    address = "Zoë Ångström, 12 MG Road"
    source.execute(
        f"INSERT INTO \"{unique_name}\".orders (id, status, notes) VALUES (7, 'paid', %s)",
        (address,),
    )
    policy = settings.privacy.model_copy(
        update={"cdc_columns": {f"{unique_name}.orders.notes": "hash"}}
    )
    key = "m" * 32
    processor = settings.processor.model_copy(update={"pseudonymization_key": SecretStr(key)})
    keyless = MirrorWriter(settings.model_copy(update={"privacy": policy}))
    keyless.prepare(warehouse)
    first_seen = feed("u", after=order_row(7, notes=UNAVAILABLE), lsn=20)
    refused = _write(warehouse, keyless, first_seen)
    assert [r.error for r in refused.rejects] == ["SourceNotReadable"]
    assert "notes are hashed by the PII policy" in refused.rejects[0].reason
    writer = MirrorWriter(settings.model_copy(update={"privacy": policy, "processor": processor}))
    stats = _write(warehouse, writer, first_seen)
    assert stats.rows_completed == 1
    assert [row[3] for row in _rows(warehouse, unique_name)] == [Pseudonymizer(key, "k1")(address)]
