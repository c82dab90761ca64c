"""Debezium signals sent through the source signaling table (incremental snapshots).

The connector reads its signaling table (``signal.data.collection``, created by
``headwater source setup``) from the WAL. An ``execute-snapshot`` signal of type
``incremental`` makes it re-read the named tables in primary-key chunks, interleaved with
the live changes (``op: "r"``, ``source.snapshot: "incremental"``); with
``additional-conditions`` (Debezium 2.2 and later; the singular ``additional-condition`` is
gone since 3.0) only the rows matching a filter.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from psycopg import sql

from connectors.debezium_postgres import signal_table, source_dsn
from headwater.postgres import connect
from headwater.settings import Settings


def snapshot_signal(tables: list[str], where: str | None = None) -> dict[str, Any]:
    """The ``data`` of an incremental ``execute-snapshot`` signal of ``tables``.

    ``where``: a SQL condition on the tables' columns (``id IN (7, 9)``); Debezium adds it
    to the query of every chunk of each table, so only the matching rows are re-read.
    """
    data: dict[str, Any] = {"data-collections": tables, "type": "incremental"}
    if where:
        data["additional-conditions"] = [
            {"data-collection": table, "filter": where} for table in tables
        ]
    return data


def request_incremental_snapshot(
    settings: Settings, tables: list[str], where: str | None = None
) -> str:
    """Ask the running connector to snapshot ``tables`` (schema.table) incrementally.

    Inserts an ``execute-snapshot`` signal (:func:`snapshot_signal`) into the connector's
    signaling table; Debezium reads it from the WAL and re-reads the tables' current rows
    (those matching ``where``, when given). Returns the signal's id.
    """
    signal_id = f"headwater-{uuid.uuid4()}"
    data = json.dumps(snapshot_signal(tables, where))
    schema, table = signal_table(settings.cdc).split(".", 1)
    with connect(source_dsn(settings), settings.source) as connection:
        connection.execute(
            sql.SQL("INSERT INTO {} (id, type, data) VALUES (%s, 'execute-snapshot', %s)").format(
                sql.Identifier(schema, table)
            ),
            (signal_id, data),
        )
    return signal_id
