"""Comparing the warehouse mirrors with the source tables, in SQL (postgres_fdw), row for row.

The mirrors hold what the PII policy leaves of the source (``headwater.privacy.policy``):
the comparison applies it to the source side, the keyed hash with pgcrypto's ``hmac``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from headwater.postgres import verified
from headwater.privacy.policy import Action, CdcPolicy
from headwater.privacy.pseudonyms import SEPARATOR, Pseudonymizer
from headwater.settings import Settings


@dataclass(frozen=True)
class MirrorPolicy:
    """The PII policy of a pipeline and its key, to compare its mirrors with their source."""

    policy: CdcPolicy
    pseudonymize: Pseudonymizer | None
    key: str | None

    @classmethod
    def of(cls, settings: Settings) -> MirrorPolicy:
        """The policy and key of these settings."""
        key = settings.processor.pseudonymization_key
        secret = key.get_secret_value() if key is not None else None
        pseudonymize = (
            Pseudonymizer(secret, settings.processor.pseudonymization_key_id) if secret else None
        )
        return cls(CdcPolicy(settings), pseudonymize, secret)

    def source_column(self, schema: str, table: str, column: str) -> sql.Composable | None:
        """The source column as its mirror holds it (None: the mirror does not)."""
        action = self.policy.action(schema, table, column)
        if action is Action.DROP:
            return None
        if action is Action.KEEP or self.pseudonymize is None:
            return sql.Identifier(column)
        return sql.SQL("{} || encode(hmac({}::text, {}, 'sha256'), 'hex') AS {}").format(
            sql.Literal(self.pseudonymize.key_id + SEPARATOR),
            sql.Identifier(column),
            sql.Literal(self.key),
            sql.Identifier(column),
        )


@contextmanager
def source_in_warehouse(
    warehouse_dsn: str, source_dsn: str, schema: str, tables: list[str]
) -> Iterator[str]:
    """Import the source tables into the warehouse as foreign tables; yields their schema."""
    source = conninfo_to_dict(verified(source_dsn))
    server, local = f"src_{schema}", f"fdw_{schema}"
    with psycopg.connect(verified(warehouse_dsn), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
        connection.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")  # hmac() of the policy
        connection.execute(
            sql.SQL("CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})").format(
                sql.Identifier(server),
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(option), sql.Literal(str(value)))
                    for option, value in source.items()
                    # the warehouse server reaches the source over the DSN's (verified) TLS too
                    if option in ("host", "port", "dbname", "sslmode", "sslrootcert")
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
    connection: psycopg.Connection[Any],
    foreign_schema: str,
    mirror_schema: str,
    table: str,
    policy: MirrorPolicy,
) -> int:
    """Rows in the source (as the policy leaves it) but not the mirror plus rows in the
    mirror but not the source. ``mirror_schema`` is also the source's schema.

    Returns -1 while the mirror lacks a source column (not yet added by the sink).
    """
    held = {
        column: policy.source_column(mirror_schema, table, column)
        for column in _columns(connection, foreign_schema, table)
    }
    columns = [column for column, expression in held.items() if expression is not None]
    if not set(columns) <= set(_columns(connection, mirror_schema, f"src_{table}")):
        return -1
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    source_list = sql.SQL(", ").join(e for e in held.values() if e is not None)
    source = sql.Identifier(foreign_schema, table)
    mirror = sql.Identifier(mirror_schema, f"src_{table}")
    row = connection.execute(
        sql.SQL(
            "SELECT count(*) FROM ((SELECT {sc} FROM {s} EXCEPT ALL SELECT {c} FROM {m}) "
            "UNION ALL (SELECT {c} FROM {m} EXCEPT ALL SELECT {sc} FROM {s})) AS d"
        ).format(sc=source_list, c=column_list, s=source, m=mirror)
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
