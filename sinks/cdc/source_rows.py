"""Reading chosen columns of chosen rows from the source database, as text.

The CDC sink reads the source only to complete a row it first sees through an update that
left unchanged TOASTed values out (``sinks/cdc/completion.py``). It connects with
``HEADWATER_SOURCE__DSN`` (a role that may ``SELECT`` the captured tables is enough), in
read-only sessions bounded by that database's statement and lock timeouts.

Values are read through ``jsonb_each_text(to_jsonb(row))``: every type arrives as one text
form that casts back to its mirror column's type (bytea as ``\\x...``, arrays and json as
JSON, timestamps in ISO 8601 with their offset), and a column the source no longer has is
simply absent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from headwater.errors import ConfigurationError, DependencyUnavailable, Terminal
from headwater.postgres import connect
from headwater.settings import DatabaseSettings

log = logging.getLogger(__name__)

#: Keys per query: a long IN list still uses the primary key's index.
KEYS_PER_QUERY = 500

#: One source row's key values, and one of its columns' name and text (both None when the
#: row has none of the columns asked for).
SourceValue = tuple[tuple[Any, ...], str | None, str | None]


class SourceUnavailable(DependencyUnavailable):
    """The source database did not answer; the batch waits and is written again."""


class SourceNotReadable(Terminal):
    """The source cannot be read as configured (no such table, no privilege on it)."""


class SourceRows:
    """Reads rows of the captured tables by primary key."""

    def __init__(self, database: DatabaseSettings) -> None:
        self._database = database
        self._connection: psycopg.Connection | None = None

    def read(
        self,
        schema: str,
        table: str,
        key_names: Sequence[str],
        keys: Sequence[tuple[Any, ...]],
        columns: Sequence[str],
    ) -> list[SourceValue]:
        """``columns`` of the rows with these keys, one item per row and column found.

        A row the source no longer has gives nothing; a row that has none of ``columns``
        gives one item with None for name and text.
        """
        found: list[SourceValue] = []
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = keys[start : start + KEYS_PER_QUERY]
            query = _query(schema, table, key_names, len(chunk))
            params: list[Any] = [list(columns)]
            for key in chunk:
                params.extend(key)
            for row in self._fetch(query, params, f"{schema}.{table}"):
                width = len(key_names)
                found.append((tuple(row[:width]), row[width], row[width + 1]))
        return found

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _fetch(self, query: sql.Composed, params: list[Any], table: str) -> list[tuple[Any, ...]]:
        try:
            return self._connect().execute(query, params).fetchall()
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as error:
            raise SourceNotReadable(f"the source has no table {table}: {error}") from error
        except psycopg.errors.InsufficientPrivilege as error:
            raise SourceNotReadable(
                f"the HEADWATER_SOURCE__DSN role may not read {table}: {error}"
            ) from error
        except psycopg.OperationalError as error:
            self.close()
            raise SourceUnavailable(f"cannot read {table} from the source: {error}") from error

    def _connect(self) -> psycopg.Connection:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        if self._database.dsn is None:
            raise ConfigurationError("HEADWATER_SOURCE__DSN", "is not set")
        try:
            connection = connect(
                self._database.dsn.get_secret_value(), self._database, autocommit=True
            )
        except psycopg.OperationalError as error:
            raise SourceUnavailable(f"cannot connect to the source: {error}") from error
        connection.execute("SET default_transaction_read_only = on")
        self._connection = connection
        return connection


def _query(schema: str, table: str, key_names: Sequence[str], count: int) -> sql.Composed:
    keys = sql.SQL(", ").join(sql.Identifier("t", name) for name in key_names)
    one = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(key_names)))
    wanted = sql.SQL(", ").join([one] * count)
    return sql.SQL(
        "SELECT {keys}, j.key, j.value FROM {table} AS t "
        "LEFT JOIN LATERAL (SELECT key, value FROM jsonb_each_text(to_jsonb(t)) "
        "WHERE key = ANY(%s)) AS j ON true WHERE ({keys}) IN ({wanted})"
    ).format(keys=keys, table=sql.Identifier(schema, table), wanted=wanted)
