"""The CDC mirror writer: COPY a batch into staging, merge it guarded by the LSN.

Per table and batch: truncates first (rows older than the truncate go, and a watermark
keeps replayed older changes out), then upserts (an older change never overwrites a newer
one; a column the source left out keeps its value), then deletes (remembered with their
LSN so that a replayed older insert cannot resurrect the row).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from headwater.cdc_row import Change, decode_change
from sinks.base import DECODE_ERRORS, Reject, SinkRecord, WriteStats
from sinks.cdc.tables import (
    SYNCED_AT,
    TRUNCATIONS,
    VERSION,
    MirrorTable,
    ensure_mirror,
    prepare_control_tables,
)

log = logging.getLogger(__name__)

UNCHANGED = "_unchanged"


class MirrorWriter:
    """Maintains ``src_<table>`` mirrors equal to the source tables."""

    name = "cdc"

    def __init__(self) -> None:
        self._mirrors: dict[tuple[str, str], MirrorTable] = {}

    def prepare(self, connection: psycopg.Connection) -> None:
        """Create the control tables."""
        prepare_control_tables(connection)

    def write(self, connection: psycopg.Connection, batch: list[SinkRecord]) -> WriteStats:
        """Apply the batch's changes; rejects records that cannot be decoded."""
        stats = WriteStats()
        by_table: dict[tuple[str, str], list[Change]] = defaultdict(list)
        for record in batch:
            if record.value is None:
                stats.filtered += 1  # our tombstone after a DELETE record: for compaction only
                continue
            try:
                change = decode_change(record.value)
            except DECODE_ERRORS as error:
                stats.rejects.append(Reject(record, f"not a CdcRow: {error}", type(error).__name__))
                continue
            by_table[(change.schema, change.table)].append(change)
            stats.source_times_us.append(change.commit_time_us)
        for table, changes in by_table.items():
            self._write_table(connection, table, changes, stats)
        return stats

    def _write_table(
        self,
        connection: psycopg.Connection,
        table: tuple[str, str],
        changes: list[Change],
        stats: WriteStats,
    ) -> None:
        truncates = [c for c in changes if c.op == "TRUNCATE"]
        rows = [c for c in changes if c.op != "TRUNCATE"]
        mirror = self._mirrors.get(table)
        if rows:
            mirror = ensure_mirror(connection, mirror, rows)
            self._mirrors[table] = mirror
        if truncates:
            stats.rows_deleted += _truncate(
                connection, table, mirror, max(c.lsn for c in truncates)
            )
        if not rows or mirror is None:
            return
        net = fold(rows)
        upserts = [c for c in net.values() if c.op != "DELETE"]
        deletes = [c for c in net.values() if c.op == "DELETE"]
        stats.skipped_by_version += len(rows) - len(net)  # superseded inside the batch
        if upserts:
            written = _upsert(connection, mirror, upserts)
            stats.rows_written += written
            stats.skipped_by_version += len(upserts) - written
        if deletes:
            removed = _delete(connection, mirror, deletes)
            stats.rows_deleted += removed


def _truncate(
    connection: psycopg.Connection, table: tuple[str, str], mirror: MirrorTable | None, lsn: int
) -> int:
    name = f"{table[0]}.src_{table[1]}"
    connection.execute(
        sql.SQL(
            "INSERT INTO {} (mirror, lsn) VALUES (%s, %s) ON CONFLICT (mirror) DO UPDATE "
            "SET lsn = GREATEST({}.lsn, EXCLUDED.lsn), truncated_at = now()"
        ).format(TRUNCATIONS, TRUNCATIONS),
        (name, lsn),
    )
    if mirror is None:
        return 0
    removed = connection.execute(
        sql.SQL("DELETE FROM {} WHERE {} < %s").format(mirror.identifier, sql.Identifier(VERSION)),
        (lsn,),
    ).rowcount
    connection.execute(
        sql.SQL("DELETE FROM {} WHERE {} < %s").format(mirror.deleted, sql.Identifier(VERSION)),
        (lsn,),
    )
    log.info("applied a truncate", extra={"mirror": name, "lsn": lsn, "rows": removed})
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


def _upsert(connection: psycopg.Connection, mirror: MirrorTable, changes: list[Change]) -> int:
    names = list(mirror.columns)
    staging = _staging(
        connection, "stage_upsert", list(mirror.columns.items()), f", {UNCHANGED} text[]"
    )
    rows = []
    for change in changes:
        unchanged = sorted(change.unchanged | (set(names) - set(change.values)))
        rows.append((*[change.values.get(n) for n in names], change.lsn, unchanged))
    _copy(connection, staging, [*names, VERSION, UNCHANGED], rows)
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
    column_list = sql.SQL(", ").join(map(sql.Identifier, names))
    inserted = connection.execute(
        sql.SQL(
            "INSERT INTO {target} ({columns}, {v}, {synced}) "
            "SELECT {source_columns}, s.{v}, now() FROM {staging} AS s "
            "WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match_t}) "
            "AND NOT EXISTS (SELECT 1 FROM {deleted} AS d WHERE {match_d} AND d.{v} >= s.{v}) "
            "AND s.{v} > COALESCE((SELECT lsn FROM {truncations} WHERE mirror = %s), -1)"
        ).format(
            target=mirror.identifier,
            columns=column_list,
            v=version,
            synced=sql.Identifier(SYNCED_AT),
            source_columns=sql.SQL(", ").join(
                sql.SQL("s.{}").format(sql.Identifier(n)) for n in names
            ),
            staging=staging,
            match_t=_key_match(mirror, "t", "s"),
            deleted=mirror.deleted,
            match_d=_key_match(mirror, "d", "s"),
            truncations=TRUNCATIONS,
        ),
        (mirror.name,),
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
    staging = _staging(connection, "stage_delete", [(k, mirror.columns[k]) for k in key], "")
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
