"""A source table whose columns change, through the real connector into the mirror.

Debezium's own events (a TOASTed value left out of an update, a column whose type was
widened, a column dropped) go through the processor's normalizer and the mirror writer as
the services run them; the mirror ends equal to the source.
"""

from __future__ import annotations

from typing import Any

import psycopg

from connectors.deployment import apply_connector
from connectors.source_setup import setup_source
from headwater.settings import Settings
from sinks.cdc.mirror import MirrorWriter
from tests.integration.connectors.conftest import CdcSandbox, Record
from tests.support.mirror import processed, write_batch

EVOLVING = """
CREATE TABLE {schema}.evolving (
    id integer PRIMARY KEY,
    qty integer,
    code varchar(10),
    amount numeric(8,2),
    note text,
    body text
)"""
#: 12,800 hex digits: stored out of line (TOASTed) even compressed.
BODY = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g)"


def _changed(records: list[Record], op: str, row: int) -> bool:
    return any(
        r.payload is not None and r.payload["op"] == op and r.payload["after"]["id"] == row
        for r in records
    )


def test_toast_type_changes_and_a_dropped_column_land_in_the_mirror(
    settings: Settings, sandbox: CdcSandbox, warehouse: psycopg.Connection
) -> None:
    sandbox.sql(EVOLVING)
    sandbox.sql(f"INSERT INTO {{schema}}.evolving VALUES (1, 1, 'a', 1.50, 'first', {BODY})")
    captured = sandbox.settings("evolving")
    setup_source(captured)
    apply_connector(captured, sandbox.client)
    sandbox.sql("UPDATE {schema}.evolving SET qty = 2 WHERE id = 1")  # body: TOASTed, unchanged
    sandbox.sql(
        "ALTER TABLE {schema}.evolving ALTER COLUMN qty TYPE bigint, "
        "ALTER COLUMN code TYPE varchar(40), ALTER COLUMN amount TYPE numeric(14,4)"
    )
    sandbox.sql(
        "INSERT INTO {schema}.evolving VALUES "
        f"(2, 5000000000, repeat('c', 30), 1234567890.1234, 'second', {BODY})"
    )
    sandbox.sql("ALTER TABLE {schema}.evolving DROP COLUMN note")
    sandbox.sql("UPDATE {schema}.evolving SET qty = 3 WHERE id = 2")
    records = sandbox.consume(
        [sandbox.topic("evolving")],
        lambda records: _changed(records, "u", 2),
        what="the update after the column was dropped",
    )
    assert [r.payload["op"] for r in records] == ["r", "u", "c", "u"]
    assert records[1].payload["after"]["body"] == "__debezium_unavailable_value"

    # The sink starts after the snapshot left the topics: row 1 is first seen in its update.
    writer = MirrorWriter(captured)
    writer.prepare(warehouse)
    consumed = processed((r.key, r.value) for r in records)
    first = write_batch(warehouse, writer, consumed[1:2])
    assert (first.rows_written, first.rows_completed, first.rejects) == (1, 1, [])
    then = write_batch(warehouse, writer, consumed[2:])  # after the type changes and the drop
    assert (then.rows_written, then.skipped_by_version, then.rejects) == (1, 1, [])
    source = sandbox.sql(
        "SELECT id, qty, code, amount::text, body FROM {schema}.evolving ORDER BY id"
    )
    mirror = warehouse.execute(
        f'SELECT id, qty, code, amount::text, body, note FROM "{sandbox.schema}".src_evolving '
        "ORDER BY id"
    ).fetchall()
    assert [row[:5] for row in mirror] == source
    assert [row[5] for row in mirror] == ["first", None]  # dropped: NULL once rewritten
    types: dict[str, Any] = dict(
        warehouse.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0",
            (f'"{sandbox.schema}".src_evolving',),
        ).fetchall()
    )
    assert (types["qty"], types["code"], types["amount"]) == (
        "bigint",
        "character varying(40)",
        "numeric(14,4)",
    )
