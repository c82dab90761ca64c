"""Comparing the warehouse mirrors with the source tables, in SQL (postgres_fdw), row for row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict


@contextmanager
def source_in_warehouse(
    warehouse_dsn: str, source_dsn: str, schema: str, tables: list[str]
) -> Iterator[str]:
    """Import the source tables into the warehouse as foreign tables; yields their schema."""
    source = conninfo_to_dict(source_dsn)
    server, local = f"src_{schema}", f"fdw_{schema}"
    with psycopg.connect(warehouse_dsn, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
        connection.execute(
            sql.SQL("CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})").format(
                sql.Identifier(server),
                sql.SQL("host {}, port {}, dbname {}").format(
                    sql.Literal(str(source["host"])),
                    sql.Literal(str(source["port"])),
                    sql.Literal(str(source["dbname"])),
                ),
            )
        )
        connection.execute(
            sql.SQL(
                "CREATE USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS (user {}, password {})"
            ).format(
                sql.Identifier(server),
                sql.Literal(str(source["user"])),
                sql.Literal(str(source.get("password", ""))),
            )
        )
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(local)))
        connection.execute(
            sql.SQL("IMPORT FOREIGN SCHEMA {} LIMIT TO ({}) FROM SERVER {} INTO {}").format(
                sql.Identifier(schema),
                sql.SQL(", ").join(map(sql.Identifier, tables)),
                sql.Identifier(server),
                sql.Identifier(local),
            )
        )
        try:
            yield local
        finally:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(local)))
            connection.execute(sql.SQL("DROP SERVER {} CASCADE").format(sql.Identifier(server)))


def differences(
    connection: psycopg.Connection[Any], foreign_schema: str, mirror_schema: str, table: str
) -> int:
    """Rows in the source but not the mirror plus rows in the mirror but not the source.

    Returns -1 while the mirror lacks a source column (not yet added by the sink).
    """
    columns = _columns(connection, foreign_schema, table)
    if not set(columns) <= set(_columns(connection, mirror_schema, f"src_{table}")):
        return -1
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    source = sql.Identifier(foreign_schema, table)
    mirror = sql.Identifier(mirror_schema, f"src_{table}")
    row = connection.execute(
        sql.SQL(
            "SELECT count(*) FROM ((SELECT {c} FROM {s} EXCEPT ALL SELECT {c} FROM {m}) "
            "UNION ALL (SELECT {c} FROM {m} EXCEPT ALL SELECT {c} FROM {s})) AS d"
        ).format(c=column_list, s=source, m=mirror)
    ).fetchone()
    return int(row[0]) if row else -1


def _columns(connection: psycopg.Connection[Any], schema: str, table: str) -> list[str]:
    return [
        str(row[0])
        for row in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        ).fetchall()
    ]
