"""``headwater connectors snapshot``: a table re-read through the signaling table.

The real connector re-reads the table (or only the rows a ``--where`` condition selects)
and its rows land in a mirror that had lost them; a row the mirror has keeps its version.
"""

from __future__ import annotations

import psycopg

from connectors.deployment import apply_connector
from connectors.source_setup import setup_source
from sinks.cdc.mirror import MirrorWriter
from tests.integration.connectors.conftest import CdcSandbox, Record
from tests.support.mirror import processed, write_batch


def _incremental(records: list[Record]) -> list[Record]:
    return [
        r
        for r in records
        if r.payload is not None and r.payload["source"].get("snapshot") == "incremental"
    ]


def _mirror(warehouse: psycopg.Connection, schema: str) -> list[tuple[object, ...]]:
    rows = warehouse.execute(
        f'SELECT id, utm_source, _lsn FROM "{schema}".src_orders ORDER BY id'
    ).fetchall()
    warehouse.commit()
    return rows


def test_snapshot_rereads_the_rows_a_condition_selects_into_the_mirror(
    sandbox: CdcSandbox, warehouse: psycopg.Connection
) -> None:
    settings = sandbox.settings("customers", "orders")
    setup_source(settings)
    apply_connector(settings, sandbox.client)
    topic = sandbox.topic("orders")
    initial = sandbox.consume([topic], lambda records: len(records) >= 5, what="the snapshot")
    writer = MirrorWriter(settings)
    writer.prepare(warehouse)
    write_batch(warehouse, writer, processed((r.key, r.value) for r in initial))
    # The mirror loses rows 11 and 13 (a damaged table, a mistaken DELETE), and row 12 is
    # changed at the source meanwhile.
    warehouse.execute(f'DELETE FROM "{sandbox.schema}".src_orders WHERE id IN (11, 13)')
    warehouse.commit()
    sandbox.sql("UPDATE {schema}.orders SET utm_source = 'bing' WHERE id = 12")

    done = sandbox.cli(
        settings, "connectors", "snapshot", f"{sandbox.schema}.orders", "--where", "id IN (11, 13)"
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"incremental snapshot of {sandbox.schema}.orders (rows where id IN (11, 13)) requested"
    )
    # One partition, rows in key order: had the condition been ignored, 10 and 12 came first.
    records = sandbox.consume(
        [topic],
        lambda records: {r.payload["after"]["id"] for r in _incremental(records)} >= {11, 13},
        what="the re-read rows",
    )
    assert [r.payload["after"]["id"] for r in _incremental(records)] == [11, 13]
    write_batch(warehouse, writer, processed((r.key, r.value) for r in records[5:]))
    rows = _mirror(warehouse, sandbox.schema)
    assert [row[:2] for row in rows] == [
        (10, "google"),
        (11, None),
        (12, "bing"),  # streamed
        (13, "clevertap"),
        (14, "google"),
    ]
    assert rows[1][2] == rows[3][2] == 0  # re-read rows: version 0, any change overwrites them


def test_snapshot_refuses_a_table_that_is_not_captured(sandbox: CdcSandbox) -> None:
    settings = sandbox.settings("orders")
    done = sandbox.cli(settings, "connectors", "snapshot", f"{sandbox.schema}.customers")
    assert done.returncode == 2
    assert f"{sandbox.schema}.customers not in HEADWATER_CDC__TABLES" in done.stderr
