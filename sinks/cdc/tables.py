"""Mirror tables in the warehouse: created from the first record, extended as columns appear."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from headwater.cdc_row import Change

CONTROL_SCHEMA = "headwater"
TRUNCATIONS = sql.Identifier(CONTROL_SCHEMA, "cdc_truncations")
VERSION = "_lsn"
SYNCED_AT = "_synced_at"


@dataclass
class MirrorTable:
    """``<schema>.src_<table>``, its deleted-keys table, and the columns it has."""

    schema: str
    table: str
    primary_key: tuple[str, ...]
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The mirror's qualified name, as text (for logs, metrics and the truncations table)."""
        return f"{self.schema}.src_{self.table}"

    @property
    def identifier(self) -> sql.Identifier:
        """The mirror table."""
        return sql.Identifier(self.schema, f"src_{self.table}")

    @property
    def deleted(self) -> sql.Identifier:
        """Keys deleted at the source, with the LSN of the delete (guards replays)."""
        return sql.Identifier(CONTROL_SCHEMA, f"deleted_{self.schema}__{self.table}")


def prepare_control_tables(connection: psycopg.Connection) -> None:
    """The sink's own bookkeeping tables."""
    connection.execute(
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(CONTROL_SCHEMA))
    )
    connection.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (mirror text PRIMARY KEY, lsn bigint NOT NULL, "
            "truncated_at timestamptz NOT NULL DEFAULT now())"
        ).format(TRUNCATIONS)
    )


def ensure_mirror(
    connection: psycopg.Connection, known: MirrorTable | None, changes: list[Change]
) -> MirrorTable:
    """Create the mirror on first sight, then add any column the changes bring."""
    first = changes[0]
    mirror = known or _load(connection, first)
    wanted: dict[str, str] = {}
    for change in changes:
        for name, sql_type in change.types.items():
            wanted.setdefault(name, sql_type)
    if not mirror.columns:
        _create(connection, mirror, wanted)
    for name, sql_type in wanted.items():
        if name not in mirror.columns:
            connection.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    mirror.identifier, sql.Identifier(name), sql.SQL(sql_type)
                )
            )
            mirror.columns[name] = sql_type
    return mirror


def _load(connection: psycopg.Connection, change: Change) -> MirrorTable:
    mirror = MirrorTable(change.schema, change.table, change.primary_key)
    rows = connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (mirror.schema, f"src_{mirror.table}"),
    ).fetchall()
    mirror.columns = {name: kind for name, kind in rows if name not in (VERSION, SYNCED_AT)}
    return mirror


def _create(connection: psycopg.Connection, mirror: MirrorTable, columns: dict[str, str]) -> None:
    key = [name for name in mirror.primary_key]
    definitions = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(name),
            sql.SQL(sql_type),
            sql.SQL(" NOT NULL" if name in key else ""),
        )
        for name, sql_type in columns.items()
    ]
    connection.execute(
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(mirror.schema))
    )
    connection.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ({}, {} bigint NOT NULL, {} timestamptz NOT NULL, "
            "PRIMARY KEY ({}))"
        ).format(
            mirror.identifier,
            sql.SQL(", ").join(definitions),
            sql.Identifier(VERSION),
            sql.Identifier(SYNCED_AT),
            sql.SQL(", ").join(map(sql.Identifier, key)),
        )
    )
    key_definitions = [
        sql.SQL("{} {} NOT NULL").format(sql.Identifier(name), sql.SQL(columns[name]))
        for name in key
    ]
    connection.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, {} bigint NOT NULL, PRIMARY KEY ({}))").format(
            mirror.deleted,
            sql.SQL(", ").join(key_definitions),
            sql.Identifier(VERSION),
            sql.SQL(", ").join(map(sql.Identifier, key)),
        )
    )
    mirror.columns = dict(columns)
