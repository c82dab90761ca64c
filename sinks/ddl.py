"""Creating a sink's schemas and tables only when they are missing.

``CREATE ... IF NOT EXISTS`` still needs the privilege to create: PostgreSQL checks it before
it looks for the object. A sink running as its own role (``headwater warehouse setup``) may
write its tables but not create schemas or tables beside them, so a sink asks first and
creates only what is missing; the statement keeps ``IF NOT EXISTS`` for two sinks racing.
"""

from __future__ import annotations

import psycopg
from psycopg import sql


def schema_exists(connection: psycopg.Connection, schema: str) -> bool:
    """Whether the schema exists."""
    found = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    return found.fetchone() is not None


def table_exists(connection: psycopg.Connection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (any relation of that name)."""
    found = connection.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    )
    return found.fetchone() is not None


def create_schema(connection: psycopg.Connection, schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS``, run only when the schema is missing."""
    if not schema_exists(connection, schema):
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def create_table(
    connection: psycopg.Connection, schema: str, table: str, statement: sql.Composed
) -> None:
    """Run ``statement`` (a ``CREATE TABLE IF NOT EXISTS``) only when the table is missing."""
    if not table_exists(connection, schema, table):
        connection.execute(statement)
