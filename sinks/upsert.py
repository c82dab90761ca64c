"""A versioned upsert writer: Avro records into one warehouse table keyed by a natural key.

COPY into staging, then one UPDATE guarded by the version (an older record never overwrites
a newer one; the same version with other values, a replay after a normalizer fix, does) and
one INSERT of the new keys, in the runner's transaction with the offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from psycopg import sql

from headwater.avro import RecordReader, UndecodableRecord, WriterSchemas
from schemas import avro_schema, schema_json
from sinks.base import DECODE_ERRORS, Reject, SinkRecord, WriteStats
from sinks.ddl import create_schema, create_table

SYNCED_AT = "_synced_at"


@dataclass(frozen=True)
class Column:
    """A warehouse column."""

    name: str
    sql_type: str
    nullable: bool = True


#: The SQL type of each Avro type a field may have, unless the field names one (``"sql"``).
_SQL_TYPES: dict[str, str] = {
    "string": "text",
    "enum": "text",
    "long": "bigint",
    "int": "integer",
    "boolean": "boolean",
    "float": "real",
    "double": "double precision",
    "date": "date",
    "timestamp-micros": "timestamptz",
    "timestamp-millis": "timestamptz",
}


@cache
def columns_of(record: str) -> tuple[Column, ...]:
    """The warehouse columns of the record ``schemas/<record>.avsc``, one per field."""
    return columns_from_fields(record, schema_json(record)["fields"])


def columns_from_fields(record: str, fields: list[dict[str, Any]]) -> tuple[Column, ...]:
    """A column per Avro field: its ``"sql"`` type or its Avro type's, nullable if optional."""
    columns = []
    for avro_field in fields:
        kind = avro_field["type"]
        nullable = isinstance(kind, list) and "null" in kind
        if isinstance(kind, list):
            branches = [branch for branch in kind if branch != "null"]
            kind = branches[0] if len(branches) == 1 else branches
        if isinstance(kind, dict):
            kind = kind.get("logicalType") or kind["type"]
        sql_type = avro_field.get("sql") or (
            _SQL_TYPES.get(kind) if isinstance(kind, str) else None
        )
        if sql_type is None:
            raise ValueError(
                f"{record}.{avro_field['name']}: no SQL type for Avro {kind!r}; give the field "
                f'a "sql" attribute'
            )
        columns.append(Column(avro_field["name"], sql_type, nullable))
    return tuple(columns)


@dataclass(frozen=True)
class TableSpec:
    """A final table: the record it holds, its natural key and its version column.

    The columns are the record's fields (:func:`columns_of`): the schema is their one
    declaration.
    """

    schema: str
    table: str
    #: the Avro record of its rows (``norm/ad_performance_daily``)
    record: str
    key: tuple[str, ...]
    version: str

    @property
    def columns(self) -> tuple[Column, ...]:
        """Its columns, from the record's schema."""
        return columns_of(self.record)

    @property
    def identifier(self) -> sql.Identifier:
        """The qualified table name."""
        return sql.Identifier(self.schema, self.table)

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [column.name for column in self.columns]

    def create(self) -> sql.Composed:
        """CREATE TABLE IF NOT EXISTS, with the key as primary key."""
        definitions = [
            sql.SQL("{} {}{}").format(
                sql.Identifier(c.name),
                sql.SQL(c.sql_type),
                sql.SQL("" if c.nullable and c.name not in self.key else " NOT NULL"),
            )
            for c in self.columns
        ]
        definitions.append(
            sql.SQL("{} timestamptz NOT NULL DEFAULT now()").format(sql.Identifier(SYNCED_AT))
        )
        definitions.append(
            sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, self.key)))
        )
        return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            self.identifier, sql.SQL(", ").join(definitions)
        )


class VersionedUpsertWriter:
    """Lands one Avro topic family into one table, newest version wins."""

    def __init__(
        self,
        name: str,
        spec: TableSpec,
        insert_only: bool = False,
        writers: WriterSchemas | None = None,
    ) -> None:
        """``writers``: the writer schemas records may name (default: the recorded history)."""
        self.name = name
        self.spec = spec
        # immutable facts (events): a key keeps its first version; only the same version
        # normalized anew (a replay after a fix) replaces its values
        self.insert_only = insert_only
        self._writers = writers
        # each record read with the schema it was written with, resolved to the current one
        self._read = RecordReader(avro_schema(spec.record), writers)

    def into(self, spec: TableSpec) -> VersionedUpsertWriter:
        """The same writer for another table of the same record (a replay's shadow)."""
        return VersionedUpsertWriter(self.name, spec, self.insert_only, self._writers)

    def prepare(self, connection: psycopg.Connection) -> None:
        """Create the table, or add the columns of the fields its record gained since: NULL
        in the rows written before (a schema change, ``docs/architecture.md``)."""
        create_schema(connection, self.spec.schema)
        create_table(connection, self.spec.schema, self.spec.table, self.spec.create())
        existing = {
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (self.spec.schema, self.spec.table),
            )
        }
        for column in self.spec.columns:
            if column.name not in existing:  # nullable: the table has rows without it
                connection.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                        self.spec.identifier, sql.Identifier(column.name), sql.SQL(column.sql_type)
                    )
                )

    def write(self, connection: psycopg.Connection, batch: list[SinkRecord]) -> WriteStats:
        """Stage the batch's newest version per key, then merge it."""
        stats = WriteStats()
        newest: dict[tuple[Any, ...], dict[str, Any]] = {}
        version = self.spec.version
        for record in batch:
            if record.value is None:
                stats.filtered += 1
                continue
            try:
                row = self._read(record.value, record.headers)  # dates, datetimes as such
            except UndecodableRecord as error:
                stats.rejects.append(Reject(record, error.reason, type(error).__name__))
                continue
            except DECODE_ERRORS as error:
                reason = f"not a {self._read.schema['name']}: {error}"
                stats.rejects.append(Reject(record, reason, type(error).__name__))
                continue
            key = tuple(row[k] for k in self.spec.key)
            if key not in newest or self._wins(row[version], newest[key][version]):
                newest[key] = row
        stats.skipped_by_version += len(batch) - stats.filtered - len(stats.rejects) - len(newest)
        if newest:
            merged = self._merge(connection, list(newest.values()))
            stats.rows_written += merged
            stats.skipped_by_version += len(newest) - merged
        return stats

    def _wins(self, later: Any, earlier: Any) -> bool:
        """Whether a later record of a key replaces an earlier one of the same batch, as the
        table would: a newer version (immutable facts: an older one), and a tie (the same
        source record normalized anew)."""
        return bool(later <= earlier if self.insert_only else later >= earlier)

    def _merge(self, connection: psycopg.Connection, rows: list[dict[str, Any]]) -> int:
        spec, names = self.spec, self.spec.names
        staging = sql.Identifier(f"stage_{spec.table}")
        connection.execute(
            sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                staging, spec.identifier
            )
        )
        with connection.cursor() as cursor:
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
                staging, sql.SQL(", ").join(map(sql.Identifier, names))
            )
            with cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row([row[n] for n in names])
        match = sql.SQL(" AND ").join(
            sql.SQL("t.{k} = s.{k}").format(k=sql.Identifier(k)) for k in spec.key
        )
        version = sql.Identifier(spec.version)
        assignments = sql.SQL(", ").join(
            [sql.SQL("{c} = s.{c}").format(c=sql.Identifier(n)) for n in names if n not in spec.key]
            + [sql.SQL("{} = now()").format(sql.Identifier(SYNCED_AT))]
        )
        # The same version with other values is the same source record normalized by other
        # code (a replay after a fix): it wins, so replays repair. The same values change
        # nothing (not even _synced_at), so a replay of unchanged code leaves the table as it
        # was. A newer version wins unless the table holds immutable facts.
        values = [n for n in names if n not in spec.key and n != spec.version]
        changed = sql.SQL("t.{v} = s.{v} AND ({}) IS DISTINCT FROM ({})").format(
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in values),
            sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(n)) for n in values),
            v=version,
        )
        wins = (
            changed
            if self.insert_only
            else sql.SQL("(t.{v} < s.{v} OR {})").format(changed, v=version)
        )
        updated = connection.execute(
            sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {} AND {}").format(
                spec.identifier, assignments, staging, match, wins
            )
        ).rowcount
        columns = sql.SQL(", ").join(map(sql.Identifier, names))
        inserted = connection.execute(
            sql.SQL(
                "INSERT INTO {} ({}) SELECT {} FROM {} AS s "
                "WHERE NOT EXISTS (SELECT 1 FROM {} AS t WHERE {})"
            ).format(
                spec.identifier,
                columns,
                sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(n)) for n in names),
                staging,
                spec.identifier,
                match,
            )
        ).rowcount
        connection.execute(sql.SQL("DROP TABLE {}").format(staging))
        return updated + inserted
