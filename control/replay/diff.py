"""Comparing a sink's shadow table with its live table, row by row on the natural key.

Every column but the key and ``_synced_at`` (when the row was written, not what it says) is
compared, NULLs alike. Counts come from one full join; the samples are the first rows of
each kind in key order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from control.replay.plan import ReplayRefused
from control.replay.shadow import oid, shadow_of
from sinks.upsert import TableSpec


@dataclass(frozen=True)
class ChangedRow:
    """A key in both tables with other values: each changed column, live then shadow."""

    key: tuple[Any, ...]
    columns: dict[str, tuple[Any, Any]]


@dataclass
class TableDiff:
    """How the shadow differs from the live table."""

    live: TableSpec
    live_rows: int = 0
    shadow_rows: int = 0
    only_live: int = 0
    only_shadow: int = 0
    changed: int = 0
    #: per column, how many rows of both tables differ in it
    changed_columns: dict[str, int] = field(default_factory=dict)
    sample_only_live: list[tuple[Any, ...]] = field(default_factory=list)
    sample_only_shadow: list[tuple[Any, ...]] = field(default_factory=list)
    sample_changed: list[ChangedRow] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Whether the two tables hold the same rows."""
        return not (self.only_live or self.only_shadow or self.changed)

    @property
    def unchanged(self) -> int:
        """Rows with the same values in both tables."""
        return self.live_rows - self.only_live - self.changed


def compared_columns(spec: TableSpec) -> list[str]:
    """The columns a diff compares: every column of the record but the key."""
    return [name for name in spec.names if name not in spec.key]


def diff(connection: psycopg.Connection, live: TableSpec, sample: int = 5) -> TableDiff:
    """Compare ``<table>__replay`` with the live table; refused when there is no shadow."""
    shadow = shadow_of(live)
    for table in (live, shadow):
        if oid(connection, table) is None:
            raise ReplayRefused(
                f"there is no {table.schema}.{table.table}"
                + (": replay the sink --into-shadow first" if table is shadow else "")
            )
    columns = compared_columns(live)
    first_key = sql.Identifier(live.key[0])
    both = sql.SQL("l.{k} IS NOT NULL AND s.{k} IS NOT NULL").format(k=first_key)
    differs = [
        sql.SQL("l.{c} IS DISTINCT FROM s.{c}").format(c=sql.Identifier(name)) for name in columns
    ]
    counts = sql.SQL(
        "SELECT count(l.{k}), count(s.{k}), count(*) FILTER (WHERE s.{k} IS NULL), "
        "count(*) FILTER (WHERE l.{k} IS NULL), count(*) FILTER (WHERE {both} AND ({any})), "
        "{per_column} FROM {live} AS l FULL JOIN {shadow} AS s ON {match}"
    ).format(
        k=first_key,
        both=both,
        any=sql.SQL(" OR ").join(differs),
        per_column=sql.SQL(", ").join(
            sql.SQL("count(*) FILTER (WHERE {} AND {})").format(both, d) for d in differs
        ),
        live=live.identifier,
        shadow=shadow.identifier,
        match=_match(live),
    )
    row = connection.execute(counts).fetchone()
    assert row is not None  # an aggregate always returns a row
    result = TableDiff(live, *row[:5])
    result.changed_columns = {name: n for name, n in zip(columns, row[5:], strict=True) if n}
    result.sample_only_live = _only_in(connection, live, shadow, sample)
    result.sample_only_shadow = _only_in(connection, shadow, live, sample)
    result.sample_changed = _changed(connection, live, shadow, columns, differs, sample)
    return result


def _match(spec: TableSpec) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("l.{k} = s.{k}").format(k=sql.Identifier(k)) for k in spec.key
    )


def _keys(alias: str, spec: TableSpec) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(alias, k) for k in spec.key)


def _only_in(
    connection: psycopg.Connection, table: TableSpec, other: TableSpec, limit: int
) -> list[tuple[Any, ...]]:
    """The first keys of ``table`` that ``other`` lacks."""
    query = sql.SQL(
        "SELECT {keys} FROM {table} AS l WHERE NOT EXISTS "
        "(SELECT 1 FROM {other} AS s WHERE {match}) ORDER BY {keys} LIMIT {limit}"
    ).format(
        keys=_keys("l", table),
        table=table.identifier,
        other=other.identifier,
        match=_match(table),
        limit=sql.Literal(limit),
    )
    return [tuple(row) for row in connection.execute(query).fetchall()]


def _changed(
    connection: psycopg.Connection,
    live: TableSpec,
    shadow: TableSpec,
    columns: list[str],
    differs: Sequence[sql.Composable],
    limit: int,
) -> list[ChangedRow]:
    """The first keys whose values differ, with each changed column's two values."""
    query = sql.SQL(
        "SELECT {keys}, {flags}, {live_values}, {shadow_values} FROM {live} AS l "
        "JOIN {shadow} AS s ON {match} WHERE {any} ORDER BY {keys} LIMIT {limit}"
    ).format(
        keys=_keys("l", live),
        flags=sql.SQL(", ").join(differs),
        live_values=sql.SQL(", ").join(sql.Identifier("l", c) for c in columns),
        shadow_values=sql.SQL(", ").join(sql.Identifier("s", c) for c in columns),
        live=live.identifier,
        shadow=shadow.identifier,
        match=_match(live),
        any=sql.SQL(" OR ").join(differs),
        limit=sql.Literal(limit),
    )
    width, rows = len(live.key), []
    for row in connection.execute(query).fetchall():
        flags = row[width : width + len(columns)]
        before = row[width + len(columns) : width + 2 * len(columns)]
        after = row[width + 2 * len(columns) :]
        changed = {
            name: (old, new)
            for name, flag, old, new in zip(columns, flags, before, after, strict=True)
            if flag
        }
        rows.append(ChangedRow(tuple(row[:width]), changed))
    return rows
