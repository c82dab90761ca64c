"""Reading chosen columns of chosen rows from the source database, as text.

The CDC sink reads the source only to complete a row it first sees through an update that
left unchanged TOASTed values out (``sinks/cdc/completion.py``), and hashes what the PII
policy hashes (:class:`SourcePrivacy`), so no personal value reaches a mirror in clear.
It connects with ``HEADWATER_SOURCE__DSN`` (a role that may ``SELECT`` the captured tables
is enough), in
read-only sessions bounded by that database's statement and lock timeouts.

Each value is read as the text its mirror column casts back from: ``column::text`` (bytea
as ``\\x...``, timestamps with their offset, numerics exact), or, for a column the mirror
keeps as ``jsonb`` (json, jsonb, arrays), ``to_jsonb(column)::text``. A column the source no
longer has is left out of the read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from headwater.errors import ConfigurationError, DependencyUnavailable, Terminal
from headwater.postgres import connect
from headwater.privacy.policy import Action, CdcPolicy
from headwater.privacy.pseudonyms import KEY_SETTING, Pseudonymizer, pseudonymizer
from headwater.settings import DatabaseSettings, Settings

#: Keys per query: a long IN list still uses the primary key's index.
KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class SourceRead:
    """What the source has of the rows asked for."""

    #: the columns asked for that the source still has, in the order of each row's texts
    columns: list[str]
    #: one per row found: its key values, then the text of each of ``columns`` (None: NULL)
    rows: list[tuple[Any, ...]]


class SourceUnavailable(DependencyUnavailable):
    """The source database did not answer; the batch waits and is written again."""


class SourceNotReadable(Terminal):
    """The source cannot be read as configured (no such table, no privilege on it)."""


class SourceRows:
    """Reads rows of the captured tables by primary key."""

    def __init__(self, database: DatabaseSettings, privacy: SourcePrivacy | None = None) -> None:
        self._database = database
        self._privacy = privacy
        self._connection: psycopg.Connection | None = None

    def read(
        self,
        schema: str,
        table: str,
        key_names: Sequence[str],
        keys: Sequence[tuple[Any, ...]],
        columns: Sequence[str],
        json_columns: frozenset[str] = frozenset(),
    ) -> SourceRead:
        """``columns`` of the rows with these keys (a row the source no longer has is not in
        the answer); ``json_columns`` are read as JSON text."""
        qualified = f"{schema}.{table}"
        hashed = self._privacy.hashed(schema, table, columns) if self._privacy else []
        existing = self._columns_of(schema, table)
        present = [c for c in columns if c in existing]
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = keys[start : start + KEYS_PER_QUERY]
            query = _query(schema, table, key_names, present, json_columns, len(chunk))
            rows += self._fetch(query, [value for key in chunk for value in key], qualified)
        found = SourceRead(present, rows)
        return self._privacy.apply(found, len(key_names), hashed) if self._privacy else found

    def _columns_of(self, schema: str, table: str) -> set[str]:
        names = self._fetch(
            sql.SQL(
                "SELECT attname FROM pg_attribute "
                "WHERE attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) "
                "AND attnum > 0 AND NOT attisdropped"
            ),
            [schema, table],
            f"{schema}.{table}",
        )
        if not names:
            raise SourceNotReadable(f"the source has no table {schema}.{table}")
        return {name for (name,) in names}

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _fetch(
        self, query: sql.SQL | sql.Composed, params: list[Any], table: str
    ) -> list[tuple[Any, ...]]:
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
        connection.execute("SET bytea_output = hex")
        self._connection = connection
        return connection


def _query(
    schema: str,
    table: str,
    key_names: Sequence[str],
    columns: Sequence[str],
    json_columns: frozenset[str],
    count: int,
) -> sql.Composed:
    keys = sql.SQL(", ").join(sql.Identifier("t", name) for name in key_names)
    texts = [
        sql.SQL("to_jsonb(t.{})::text" if name in json_columns else "t.{}::text").format(
            sql.Identifier(name)
        )
        for name in columns
    ]
    one = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(key_names)))
    return sql.SQL("SELECT {} FROM {} AS t WHERE ({}) IN ({})").format(
        sql.SQL(", ").join([keys, *texts]),
        sql.Identifier(schema, table),
        keys,
        sql.SQL(", ").join([one] * count),
    )


class SourcePrivacy:
    """The PII policy on values read from the source, as the processor applies it to the
    stream: a hashed column comes back as its pseudonym, never in clear (a dropped column is
    never asked for: the stream has no such column to complete)."""

    def __init__(self, settings: Settings) -> None:
        self._policy = CdcPolicy(settings)
        self._pseudonymize: Pseudonymizer | None = None
        if settings.processor.pseudonymization_key is not None:
            self._pseudonymize = pseudonymizer(settings, "")

    def hashed(self, schema: str, table: str, columns: Sequence[str]) -> list[str]:
        """The columns to hash; SourceNotReadable when there is no key to hash them with."""
        hashed = [c for c in columns if self._policy.action(schema, table, c) is Action.HASH]
        if hashed and self._pseudonymize is None:
            raise SourceNotReadable(
                f"{schema}.{table}: {', '.join(hashed)} are hashed by the PII policy and this "
                f"sink has no {KEY_SETTING} to complete them with"
            )
        return hashed

    def apply(self, found: SourceRead, keys: int, hashed: list[str]) -> SourceRead:
        """``found`` (rows of ``keys`` key values, then the columns) with ``hashed`` hashed."""
        pseudonymize = self._pseudonymize
        if not hashed or pseudonymize is None:
            return found
        at = {keys + i for i, c in enumerate(found.columns) if c in hashed}
        rows = [
            tuple(
                pseudonymize(str(v)) if i in at and v is not None else v for i, v in enumerate(row)
            )
            for row in found.rows
        ]
        return SourceRead(found.columns, rows)
