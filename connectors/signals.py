"""Debezium signals sent through the source signaling table (incremental snapshots)."""

from __future__ import annotations

import json
import uuid

from psycopg import sql

from connectors.debezium_postgres import signal_table, source_dsn
from headwater.postgres import connect
from headwater.settings import Settings


def request_incremental_snapshot(settings: Settings, tables: list[str]) -> str:
    """Ask the running connector to snapshot ``tables`` (schema.table) incrementally.

    Inserts an ``execute-snapshot`` signal into the connector's signaling table; Debezium
    reads it from the WAL and re-reads the tables' current rows in chunks (``op: "r"``),
    interleaved with the live changes. Returns the signal's id.
    """
    signal_id = f"headwater-{uuid.uuid4()}"
    data = json.dumps({"data-collections": tables, "type": "incremental"})
    schema, table = signal_table(settings.cdc).split(".", 1)
    with connect(source_dsn(settings), settings.source) as connection:
        connection.execute(
            sql.SQL("INSERT INTO {} (id, type, data) VALUES (%s, 'execute-snapshot', %s)").format(
                sql.Identifier(schema, table)
            ),
            (signal_id, data),
        )
    return signal_id
