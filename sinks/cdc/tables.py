"""Mirror tables in the warehouse, and the DDL that follows the source's columns.

A mirror is created from the first changes of its table; a column the changes bring is
added; a column whose source type changed is widened to the type that holds the old and the
new values (``column_types.py``). A column the source dropped stays in the mirror (queries
that name it keep running); the changes after the drop do not carry it, so every row written
since holds NULL there.

:func:`schema_changes` only says what is needed; the runner applies it outside the batch
transaction (``sinks/schema_changes.py``), and each step re-reads the catalog under the
table's lock, so two sinks changing one mirror at once converge.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial

import psycopg
from psycopg import sql

from headwater.cdc_row import MAX_IDENTIFIER_BYTES, MIRROR_PREFIX, Change
from sinks.base import SchemaChange
from sinks.cdc.column_types import ColumnType, common_type, holds, parse_type
from sinks.ddl import create_schema, create_table

CONTROL_SCHEMA = "headwater"
TRUNCATIONS_TABLE = "cdc_truncations"
TRUNCATIONS = sql.Identifier(CONTROL_SCHEMA, TRUNCATIONS_TABLE)
VERSION = "_lsn"
SYNCED_AT = "_synced_at"


@dataclass
class MirrorTable:
    """``<schema>.src_<table>``, its deleted-keys table, and the columns it has."""

    schema: str
    table: str
    primary_key: tuple[str, ...]
    columns: dict[str, ColumnType] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The mirror's qualified name, as text (for logs, metrics and the truncations table)."""
        return f"{self.schema}.{MIRROR_PREFIX}{self.table}"

    @property
    def identifier(self) -> sql.Identifier:
        """The mirror table."""
        return sql.Identifier(self.schema, f"{MIRROR_PREFIX}{self.table}")

    @property
    def deleted(self) -> sql.Identifier:
        """Keys deleted at the source, with the LSN of the delete (guards replays)."""
        return sql.Identifier(CONTROL_SCHEMA, self.deleted_table)

    @property
    def deleted_table(self) -> str:
        """The deleted-keys table's name: ``deleted_<schema>__<table>``, or a digest of the
        two when that is longer than PostgreSQL keeps (it would cut it short, and two long
        names would share one table)."""
        name = f"deleted_{self.schema}__{self.table}"
        if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
            return name
        digest = hashlib.sha256(f"{self.schema}\x00{self.table}".encode()).hexdigest()
        return f"deleted_{digest[:32]}"

    @property
    def exists(self) -> bool:
        """Whether the warehouse has the mirror."""
        return bool(self.columns)


def prepare_control_tables(connection: psycopg.Connection) -> None:
    """The sink's own bookkeeping tables."""
    create_schema(connection, CONTROL_SCHEMA)
    create_table(
        connection,
        CONTROL_SCHEMA,
        TRUNCATIONS_TABLE,
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (mirror text PRIMARY KEY, lsn bigint NOT NULL, "
            "truncated_at timestamptz NOT NULL DEFAULT now())"
        ).format(TRUNCATIONS),
    )


def load_mirror(
    connection: psycopg.Connection, schema: str, table: str, primary_key: tuple[str, ...]
) -> MirrorTable:
    """The mirror as the warehouse has it now (no columns when it does not exist)."""
    mirror = MirrorTable(schema, table, primary_key)
    mirror.columns = {
        name: kind
        for name, kind in _column_types(connection, mirror.identifier).items()
        if name not in (VERSION, SYNCED_AT)
    }
    return mirror


def schema_changes(mirror: MirrorTable, changes: list[Change]) -> list[SchemaChange]:
    """The DDL the changes need first: create the mirror, add columns, widen columns."""
    wanted: dict[str, ColumnType] = {}
    previous: dict[str, str] | None = None
    for change in changes:
        if change.types == previous:
            continue  # the changes of a table mostly have the same columns: read them once
        previous = change.types
        for name, spelling in change.types.items():
            incoming = parse_type(spelling)
            wanted[name] = common_type(wanted[name], incoming) if name in wanted else incoming
    if not wanted:
        return []
    if not mirror.exists:
        described = f"create with columns {', '.join(f'{n} {t}' for n, t in wanted.items())}"
        return [
            SchemaChange(mirror.name, described, partial(_create, mirror=mirror, columns=wanted))
        ]
    steps = []
    added = {name: kind for name, kind in wanted.items() if name not in mirror.columns}
    if added:
        described = f"add columns {', '.join(f'{n} {t}' for n, t in added.items())}"
        steps.append(
            SchemaChange(
                mirror.name, described, partial(_add_columns, mirror=mirror, columns=added)
            )
        )
    for name, incoming in wanted.items():
        current = mirror.columns.get(name)
        if current is not None and not holds(current, incoming):
            described = f"widen {name} from {current} to {common_type(current, incoming)}"
            steps.append(
                SchemaChange(
                    mirror.name, described, partial(_widen, mirror=mirror, name=name, to=incoming)
                )
            )
    return steps


def _column_types(connection: psycopg.Connection, table: sql.Identifier) -> dict[str, ColumnType]:
    rows = connection.execute(
        sql.SQL(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass({}) AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ).format(sql.Literal(table.as_string(connection))),
    ).fetchall()
    return {name: parse_type(spelling) for name, spelling in rows}


def _serialize(connection: psycopg.Connection, mirror: MirrorTable) -> None:
    """One sink at a time changes a mirror (until this transaction ends)."""
    connection.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"headwater.cdc.{mirror.name}",)
    )


def _create(
    connection: psycopg.Connection, mirror: MirrorTable, columns: dict[str, ColumnType]
) -> None:
    _serialize(connection, mirror)
    key = list(mirror.primary_key)
    definitions = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(name), sql.SQL(kind.sql), sql.SQL(" NOT NULL" if name in key else "")
        )
        for name, kind in columns.items()
    ]
    create_schema(connection, mirror.schema)
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
        sql.SQL("{} {} NOT NULL").format(sql.Identifier(name), sql.SQL(columns[name].sql))
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


def _add_columns(
    connection: psycopg.Connection, mirror: MirrorTable, columns: dict[str, ColumnType]
) -> None:
    _serialize(connection, mirror)
    connection.execute(
        sql.SQL("ALTER TABLE {} {}").format(
            mirror.identifier,
            sql.SQL(", ").join(
                sql.SQL("ADD COLUMN IF NOT EXISTS {} {}").format(
                    sql.Identifier(name), sql.SQL(kind.sql)
                )
                for name, kind in columns.items()
            ),
        )
    )


def _widen(connection: psycopg.Connection, mirror: MirrorTable, name: str, to: ColumnType) -> None:
    """Widen one column (and the deleted-keys table's, for a key column) to hold ``to`` too."""
    _serialize(connection, mirror)
    tables = [mirror.identifier]
    if name in mirror.primary_key:
        tables.append(mirror.deleted)
    for table in tables:
        current = _column_types(connection, table).get(name)
        if current is None or holds(current, to):
            continue  # another sink widened it meanwhile
        wider = common_type(current, to)
        connection.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                table,
                sql.Identifier(name),
                sql.SQL(wider.sql),
                sql.Identifier(name),
                sql.SQL(wider.sql),
            )
        )
