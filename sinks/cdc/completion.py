"""Completing rows first seen through an update, from the source, before they are inserted.

Without ``REPLICA IDENTITY FULL``, Debezium sends ``__debezium_unavailable_value`` for a
TOASTed value an update did not touch, and the processor marks that column ``unchanged``.
When the mirror has the row, it keeps the value it has. When it does not (the sink started
after the row's insert left the topics, the compacted ``norm.cdc.*`` topic kept only the
update, a mirror rebuilt by a replay), nothing in the stream holds the value: the sink reads
those columns of those rows from the source, by primary key, in the batch's transaction.

Read later than the change, the values may be newer than it: the mirror row is then ahead
of its version for those columns until the stream's later changes of the row arrive, which
set every column they changed. It is never left with a NULL the source did not have:

- a row the source no longer has is not inserted (its delete is still on its way in the
  stream); it counts as superseded (``skipped_by_version``);
- when the source cannot be read as configured (``HEADWATER_SOURCE__DSN`` not set, no
  privilege, no such table) the record goes to ``dlq.sink`` with the reason, to be replayed
  with ``headwater dlq replay`` once that is fixed; an unreachable source is waited out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from headwater.cdc_row import Change
from headwater.errors import Terminal
from sinks.cdc.source_rows import SourceRead, SourceRows
from sinks.cdc.tables import MirrorTable

log = logging.getLogger(__name__)

#: Staging columns: which change a staged row is (its index in the batch's net changes) and
#: which of its columns the source left out.
ROW = "_row"
UNCHANGED = "_unchanged"


@dataclass
class Completion:
    """What completing a batch's new rows did, by staged row."""

    completed: list[int] = field(default_factory=list)
    #: rows the source no longer has, removed from staging
    gone: list[int] = field(default_factory=list)
    #: rows that cannot be completed, removed from staging: row -> reason
    refused: dict[int, str] = field(default_factory=dict)
    #: the class of the error that refused them
    error: str = ""


def complete_new_rows(
    connection: psycopg.Connection,
    mirror: MirrorTable,
    staging: sql.Identifier,
    new_row: sql.Composable,
    changes: list[Change],
    source: SourceRows,
) -> Completion:
    """Fill the staged new rows' unchanged columns from the source (``new_row``: the
    condition, on staging alias ``s``, that the upsert inserts the row)."""
    if not any(change.unchanged for change in changes):
        return Completion()
    incomplete = [
        row
        for (row,) in connection.execute(
            sql.SQL("SELECT s.{} FROM {} AS s WHERE cardinality(s.{}) > 0 AND {}").format(
                sql.Identifier(ROW), staging, sql.Identifier(UNCHANGED), new_row
            )
        ).fetchall()
    ]
    if not incomplete:
        return Completion()
    columns = sorted(set().union(*(changes[row].unchanged for row in incomplete)))
    try:
        found = source.read(
            mirror.schema,
            mirror.table,
            mirror.primary_key,
            [changes[row].key for row in incomplete],
            columns,
            frozenset(c for c in columns if mirror.columns[c].base == "jsonb"),
        )
    except Terminal as error:
        _remove(connection, staging, incomplete)
        refused = {
            row: (
                "first seen through an update that left "
                f"{', '.join(sorted(changes[row].unchanged))} out (unchanged TOASTed values), "
                f"and the source cannot be read: {error}"
            )
            for row in incomplete
        }
        log.warning(
            "rows not completed from the source: dead-lettered",
            extra={"mirror": mirror.name, "rows": len(refused), "error": str(error)},
        )
        return Completion(refused=refused, error=type(error).__name__)
    completed = _fill(connection, mirror, staging, found, columns, incomplete)
    gone = sorted(set(incomplete) - set(completed))
    _remove(connection, staging, gone)
    log.info(
        "completed rows from the source",
        extra={"mirror": mirror.name, "completed": len(completed), "gone": len(gone)},
    )
    return Completion(completed=completed, gone=gone)


def _fill(
    connection: psycopg.Connection,
    mirror: MirrorTable,
    staging: sql.Identifier,
    found: SourceRead,
    columns: list[str],
    rows: list[int],
) -> list[int]:
    """Copy what the source has into the staged rows' unchanged columns; the rows it had.

    A column the source no longer has is NULL, as in every row written after a drop.
    """
    read = sql.Identifier("stage_source")
    key = list(mirror.primary_key)
    connection.execute(
        sql.SQL("CREATE TEMP TABLE {} ({})").format(
            read,
            sql.SQL(", ").join(
                [
                    *(
                        sql.SQL("{} {}").format(sql.Identifier(k), sql.SQL(mirror.columns[k].sql))
                        for k in key
                    ),
                    *(sql.SQL("{} text").format(sql.Identifier(c)) for c in found.columns),
                ]
            ),
        )
    )
    with connection.cursor() as cursor:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            read, sql.SQL(", ").join(map(sql.Identifier, [*key, *found.columns]))
        )
        with cursor.copy(statement) as copy:
            for row in found.rows:
                copy.write_row(row)
    assignments = [
        sql.SQL("{c} = CASE WHEN {name} = ANY(s.{unchanged}) THEN {value} ELSE s.{c} END").format(
            c=sql.Identifier(name),
            name=sql.Literal(name),
            unchanged=sql.Identifier(UNCHANGED),
            value=sql.SQL("r.{}::{}").format(
                sql.Identifier(name), sql.SQL(mirror.columns[name].sql)
            )
            if name in found.columns
            else sql.SQL("NULL"),
        )
        for name in columns
    ]
    completed = connection.execute(
        sql.SQL(
            "UPDATE {staging} AS s SET {assignments}, {unchanged} = '{{}}' FROM {read} AS r "
            "WHERE {match} AND s.{row} = ANY(%s) RETURNING s.{row}"
        ).format(
            staging=staging,
            assignments=sql.SQL(", ").join(assignments),
            unchanged=sql.Identifier(UNCHANGED),
            read=read,
            match=sql.SQL(" AND ").join(
                sql.SQL("s.{k} = r.{k}").format(k=sql.Identifier(k)) for k in key
            ),
            row=sql.Identifier(ROW),
        ),
        (rows,),
    ).fetchall()
    connection.execute(sql.SQL("DROP TABLE {}").format(read))
    return sorted(row for (row,) in completed)


def _remove(connection: psycopg.Connection, staging: sql.Identifier, rows: list[int]) -> None:
    if rows:
        connection.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(staging, sql.Identifier(ROW)),
            (rows,),
        )
