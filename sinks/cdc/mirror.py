"""The CDC mirror writer: COPY a batch into staging, merge it guarded by the LSN.

Per table and batch: truncates first (rows older than the truncate go, and a watermark
keeps replayed older changes out), then upserts (an older change never overwrites a newer
one; a column the source left out as unchanged keeps its value, and a new row missing such
a value is completed from the source first), then deletes (remembered with their LSN so
that a replayed older insert cannot resurrect the row).

A batch that needs its mirrors created, extended or widened says so before it writes
anything (:class:`~sinks.base.SchemaChangeRequired`): the runner applies that DDL outside
the batch transaction and writes the batch again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from headwater.cdc_row import Change, decode_change
from headwater.settings import Settings
from sinks.base import (
    DECODE_ERRORS,
    Reject,
    SchemaChange,
    SchemaChangeRequired,
    SinkRecord,
    WriteStats,
)
from sinks.cdc.completion import ROW, UNCHANGED, complete_new_rows
from sinks.cdc.source_rows import SourcePrivacy, SourceRows
from sinks.cdc.tables import (
    SYNCED_AT,
    TRUNCATIONS,
    VERSION,
    MirrorTable,
    load_mirror,
    prepare_control_tables,
    schema_changes,
)

log = logging.getLogger(__name__)

#: The changes of one mirror in a batch, each with the record it came from.
Entries = list[tuple[SinkRecord, Change]]


class MirrorWriter:
    """Maintains ``src_<table>`` mirrors equal to the source tables."""

    name = "cdc"

    def __init__(self, settings: Settings) -> None:
        self._mirrors: dict[tuple[str, str], MirrorTable] = {}
        self._source = SourceRows(settings.source, SourcePrivacy(settings))

    def prepare(self, connection: psycopg.Connection) -> None:
        """Create the control tables."""
        prepare_control_tables(connection)

    def write(self, connection: psycopg.Connection, batch: list[SinkRecord]) -> WriteStats:
        """Apply the batch's changes; rejects records that cannot be decoded."""
        stats = WriteStats()
        by_table: dict[tuple[str, str], Entries] = defaultdict(list)
        for record in batch:
            if record.value is None:
                stats.filtered += 1  # our tombstone after a DELETE record: for compaction only
                continue
            try:
                change = decode_change(record.value, record.headers)
            except DECODE_ERRORS as error:
                stats.rejects.append(Reject(record, f"not a CdcRow: {error}", type(error).__name__))
                continue
            by_table[(change.schema, change.table)].append((record, change))
            stats.source_times_us.append(change.commit_time_us)
        mirrors = {
            table: self._mirror(connection, table, entries) for table, entries in by_table.items()
        }
        self._require_schema_changes(mirrors, by_table)
        for table, entries in by_table.items():
            self._write_table(connection, mirrors[table], entries, stats)
        return stats

    def _mirror(
        self, connection: psycopg.Connection, table: tuple[str, str], entries: Entries
    ) -> MirrorTable:
        """The mirror as known, or as the catalog has it (kept once it exists)."""
        known = self._mirrors.get(table)
        if known is not None:
            return known
        keyed = [change for _, change in entries if change.op != "TRUNCATE"]
        primary_key = keyed[0].primary_key if keyed else ()
        mirror = load_mirror(connection, *table, primary_key)
        if mirror.exists and keyed:
            self._mirrors[table] = mirror
        return mirror

    def _require_schema_changes(
        self, mirrors: dict[tuple[str, str], MirrorTable], by_table: dict[tuple[str, str], Entries]
    ) -> None:
        """Raise the DDL the batch needs, if any (the runner applies it, then writes again)."""
        required: list[SchemaChange] = []
        for table, entries in by_table.items():
            rows = [change for _, change in entries if change.op != "TRUNCATE"]
            needed = schema_changes(mirrors[table], rows)
            if needed:
                self._mirrors.pop(table, None)  # read again from the catalog after the DDL
                required += needed
        if required:
            raise SchemaChangeRequired(required)

    def _write_table(
        self,
        connection: psycopg.Connection,
        mirror: MirrorTable,
        entries: Entries,
        stats: WriteStats,
    ) -> None:
        truncates = [c for _, c in entries if c.op == "TRUNCATE"]
        rows = [c for _, c in entries if c.op != "TRUNCATE"]
        if truncates:
            stats.rows_deleted += _truncate(connection, mirror, max(c.lsn for c in truncates))
        if not rows or not mirror.exists:
            return
        record_of = {id(change): record for record, change in entries}
        net = fold(rows)
        upserts = [c for c in net.values() if c.op != "DELETE"]
        deletes = [c for c in net.values() if c.op == "DELETE"]
        stats.skipped_by_version += len(rows) - len(net)  # superseded inside the batch
        if upserts:
            self._upsert(connection, mirror, upserts, [record_of[id(c)] for c in upserts], stats)
        if deletes:
            stats.rows_deleted += _delete(connection, mirror, deletes)

    def _upsert(
        self,
        connection: psycopg.Connection,
        mirror: MirrorTable,
        changes: list[Change],
        records: list[SinkRecord],
        stats: WriteStats,
    ) -> None:
        staging = _stage_upserts(connection, mirror, changes)
        completion = complete_new_rows(
            connection, mirror, staging, _new_row(mirror), changes, self._source
        )
        stats.rows_completed += len(completion.completed)
        stats.skipped_by_version += len(completion.gone)  # their delete is on its way
        stats.rejects += [
            Reject(records[row], reason, completion.error)
            for row, reason in completion.refused.items()
        ]
        written = _merge(connection, mirror, staging)
        stats.rows_written += written
        staged = len(changes) - len(completion.gone) - len(completion.refused)
        stats.skipped_by_version += staged - written


def _truncate(connection: psycopg.Connection, mirror: MirrorTable, lsn: int) -> int:
    connection.execute(
        sql.SQL(
            "INSERT INTO {} (mirror, lsn) VALUES (%s, %s) ON CONFLICT (mirror) DO UPDATE "
            "SET lsn = GREATEST({}.lsn, EXCLUDED.lsn), truncated_at = now()"
        ).format(TRUNCATIONS, TRUNCATIONS),
        (mirror.name, lsn),
    )
    if not mirror.exists:
        return 0
    removed = connection.execute(
        sql.SQL("DELETE FROM {} WHERE {} < %s").format(mirror.identifier, sql.Identifier(VERSION)),
        (lsn,),
    ).rowcount
    connection.execute(
        sql.SQL("DELETE FROM {} WHERE {} < %s").format(mirror.deleted, sql.Identifier(VERSION)),
        (lsn,),
    )
    log.info("applied a truncate", extra={"mirror": mirror.name, "lsn": lsn, "rows": removed})
    return removed


def _staging(
    connection: psycopg.Connection, name: str, columns: list[tuple[str, str]], extra: str
) -> sql.Identifier:
    staging = sql.Identifier(name)
    connection.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}, {} bigint NOT NULL{})").format(
            staging,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns
            ),
            sql.Identifier(VERSION),
            sql.SQL(extra),
        )
    )
    return staging


def _copy(
    connection: psycopg.Connection,
    staging: sql.Identifier,
    names: list[str],
    rows: list[tuple[Any, ...]],
) -> None:
    with connection.cursor() as cursor:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            staging, sql.SQL(", ").join(map(sql.Identifier, names))
        )
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def _key_match(mirror: MirrorTable, left: str, right: str) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(
            sql.Identifier(left), sql.Identifier(k), sql.Identifier(right), sql.Identifier(k)
        )
        for k in mirror.primary_key
    )


def _stage_upserts(
    connection: psycopg.Connection, mirror: MirrorTable, changes: list[Change]
) -> sql.Identifier:
    """COPY the net upserts into staging: each row its values, the columns the source left
    out as unchanged, and its index in ``changes``.

    A mirror column the change does not have at all is NULL: the source dropped it before
    the change (its schema is the table's at the time of the change).
    """
    names = list(mirror.columns)
    staging = _staging(
        connection,
        "stage_upsert",
        [(name, kind.sql) for name, kind in mirror.columns.items()],
        f", {UNCHANGED} text[] NOT NULL, {ROW} integer NOT NULL",
    )
    rows = [
        (*[change.values.get(n) for n in names], change.lsn, sorted(change.unchanged), index)
        for index, change in enumerate(changes)
    ]
    _copy(connection, staging, [*names, VERSION, UNCHANGED, ROW], rows)
    return staging


def _new_row(mirror: MirrorTable) -> sql.Composable:
    """Whether a staged row (alias ``s``) is inserted: the mirror has no row of its key, no
    newer delete of the key is recorded, and it is newer than the last truncate."""
    version = sql.Identifier(VERSION)
    return sql.SQL(
        "NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match_t}) "
        "AND NOT EXISTS (SELECT 1 FROM {deleted} AS d WHERE {match_d} AND d.{v} >= s.{v}) "
        "AND s.{v} > COALESCE((SELECT lsn FROM {truncations} WHERE mirror = {name}), -1)"
    ).format(
        target=mirror.identifier,
        match_t=_key_match(mirror, "t", "s"),
        deleted=mirror.deleted,
        match_d=_key_match(mirror, "d", "s"),
        v=version,
        truncations=TRUNCATIONS,
        name=sql.Literal(mirror.name),
    )


def _merge(connection: psycopg.Connection, mirror: MirrorTable, staging: sql.Identifier) -> int:
    """Update the older rows, insert the new ones; the number of rows written."""
    names = list(mirror.columns)
    version = sql.Identifier(VERSION)
    others = [n for n in names if n not in mirror.primary_key]
    assignments = [
        sql.SQL("{c} = CASE WHEN {name} = ANY(s.{u}) THEN t.{c} ELSE s.{c} END").format(
            c=sql.Identifier(n), name=sql.Literal(n), u=sql.Identifier(UNCHANGED)
        )
        for n in others
    ]
    assignments += [
        sql.SQL("{v} = s.{v}").format(v=version),
        sql.SQL("{} = now()").format(sql.Identifier(SYNCED_AT)),
    ]
    updated = connection.execute(
        sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {} AND t.{} < s.{}").format(
            mirror.identifier,
            sql.SQL(", ").join(assignments),
            staging,
            _key_match(mirror, "t", "s"),
            version,
            version,
        )
    ).rowcount
    inserted = connection.execute(
        sql.SQL(
            "INSERT INTO {target} ({columns}, {v}, {synced}) "
            "SELECT {source_columns}, s.{v}, now() FROM {staging} AS s WHERE {new_row}"
        ).format(
            target=mirror.identifier,
            columns=sql.SQL(", ").join(map(sql.Identifier, names)),
            v=version,
            synced=sql.Identifier(SYNCED_AT),
            source_columns=sql.SQL(", ").join(
                sql.SQL("s.{}").format(sql.Identifier(n)) for n in names
            ),
            staging=staging,
            new_row=_new_row(mirror),
        )
    ).rowcount
    connection.execute(
        sql.SQL("DELETE FROM {} AS d USING {} AS s WHERE {} AND d.{} < s.{}").format(
            mirror.deleted, staging, _key_match(mirror, "d", "s"), version, version
        )
    )
    connection.execute(sql.SQL("DROP TABLE {}").format(staging))
    return updated + inserted


def _delete(connection: psycopg.Connection, mirror: MirrorTable, changes: list[Change]) -> int:
    key = list(mirror.primary_key)
    staging = _staging(connection, "stage_delete", [(k, mirror.columns[k].sql) for k in key], "")
    _copy(connection, staging, [*key, VERSION], [(*c.key, c.lsn) for c in changes])
    version = sql.Identifier(VERSION)
    removed = connection.execute(
        sql.SQL("DELETE FROM {} AS t USING {} AS s WHERE {} AND t.{} < s.{}").format(
            mirror.identifier, staging, _key_match(mirror, "t", "s"), version, version
        )
    ).rowcount
    key_list = sql.SQL(", ").join(map(sql.Identifier, key))
    connection.execute(
        sql.SQL(
            "INSERT INTO {deleted} AS d ({key}, {v}) SELECT {key}, {v} FROM {staging} "
            "ON CONFLICT ({key}) DO UPDATE SET {v} = GREATEST(d.{v}, EXCLUDED.{v})"
        ).format(deleted=mirror.deleted, key=key_list, v=version, staging=staging)
    )
    connection.execute(sql.SQL("DROP TABLE {}").format(staging))
    return removed


def fold(changes: Iterable[Change]) -> dict[tuple[Any, ...], Change]:
    """The net change per row of a batch, in LSN order.

    A later change wins; a column it left out (unchanged TOAST) keeps the value an earlier
    change in the batch gave it, or stays unchanged for the warehouse to keep.
    """
    net: dict[tuple[Any, ...], Change] = {}
    for change in sorted(changes, key=lambda c: c.lsn):
        previous = net.get(change.key)
        if previous is not None and previous.op != "DELETE" and change.op != "DELETE":
            for name in list(change.unchanged):
                if name in previous.values:
                    change.values[name] = previous.values[name]
                    change.unchanged.discard(name)
                elif name in previous.unchanged:
                    pass  # still unknown: the warehouse keeps its value
        net[change.key] = change
    return net
