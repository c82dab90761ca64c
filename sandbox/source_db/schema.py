"""The application schema that stands in for the RDS database: customers and orders.

The columns are declared once, here; the DDL, the row generators' tests and the seed's
COPY column lists all come from :data:`COLUMNS`. Between them, the two tables use every
column type CDC promises to carry (smallint, integer, bigint, numeric with scale, text,
boolean, date, timestamp, timestamptz, jsonb, uuid), each in a nullable column too.
Primary keys are chosen by the workload (no sequences), so a deleted key can come back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from sandbox.source_db.errors import InvalidSchemaName

Table = Literal["customers", "orders"]

TABLES: Final[tuple[Table, ...]] = ("customers", "orders")

ORDER_STATUSES: Final = ("pending", "paid", "shipped", "cancelled", "refunded")


@dataclass(frozen=True)
class Column:
    """One column of a sandbox table."""

    name: str
    type: str
    nullable: bool = True


COLUMNS: Final[dict[Table, tuple[Column, ...]]] = {
    "customers": (
        Column("id", "bigint", nullable=False),
        Column("external_id", "uuid", nullable=False),
        Column("email", "text", nullable=False),
        Column("full_name", "text", nullable=False),
        Column("phone", "text"),
        Column("city", "text"),
        Column("country_code", "text", nullable=False),
        Column("birth_date", "date"),
        Column("loyalty_tier", "smallint"),
        Column("loyalty_points", "integer"),
        Column("lifetime_value", "numeric(14,4)"),
        Column("referred_by", "bigint"),
        Column("marketing_opt_in", "boolean", nullable=False),
        Column("preferences", "jsonb"),
        Column("last_seen_local", "timestamp"),
        Column("created_at", "timestamptz", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    "orders": (
        Column("id", "bigint", nullable=False),
        Column("customer_id", "bigint", nullable=False),
        Column("status", "text", nullable=False),
        Column("amount", "numeric(12,2)", nullable=False),
        Column("currency", "text", nullable=False),
        Column("fx_rate", "numeric(14,4)"),
        Column("tax", "numeric(12,2)"),
        Column("item_count", "integer", nullable=False),
        Column("priority", "smallint", nullable=False),
        Column("is_gift", "boolean"),
        Column("utm_source", "text"),
        Column("utm_campaign", "text"),
        Column("campaign_id", "text"),
        Column("checkout_session", "uuid"),
        Column("line_items", "jsonb", nullable=False),
        Column("delivery_date", "date"),
        Column("promised_delivery", "timestamp"),
        Column("shipped_at", "timestamptz"),
        Column("notes", "text"),
        Column("created_at", "timestamptz", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
}

# Constraints beyond the column list, as SQL with {schema} standing for the schema.
_CONSTRAINTS: Final[dict[Table, tuple[str, ...]]] = {
    "customers": ("PRIMARY KEY (id)", "CHECK (country_code ~ '^[A-Z]{{2}}$')"),
    "orders": (
        "PRIMARY KEY (id)",
        "FOREIGN KEY (customer_id) REFERENCES {schema}.customers (id) ON DELETE CASCADE",
        "CHECK (status IN ({statuses}))",
        "CHECK (currency ~ '^[A-Z]{{3}}$')",
    ),
}

JSONB_COLUMNS: Final[dict[Table, frozenset[str]]] = {
    table: frozenset(column.name for column in columns if column.type == "jsonb")
    for table, columns in COLUMNS.items()
}

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    """Return ``schema`` when CDC can capture it (a lower-case identifier), else raise."""
    if not _IDENTIFIER.match(schema):
        raise InvalidSchemaName(schema)
    return schema


def qualified(schema: str, table: Table) -> sql.Identifier:
    """``schema.table`` as a quoted identifier."""
    return sql.Identifier(check_schema_name(schema), table)


def adapt(table: Table, values: Mapping[str, object]) -> dict[str, object]:
    """Column values ready to pass to psycopg (jsonb documents wrapped in :class:`Jsonb`)."""
    jsonb = JSONB_COLUMNS[table]
    return {
        name: Jsonb(value) if name in jsonb and value is not None else value
        for name, value in values.items()
    }


def table_ddl(schema: str, table: Table) -> sql.Composed:
    """``CREATE TABLE IF NOT EXISTS`` for one table in ``schema``."""
    columns = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(column.name),
            sql.SQL(column.type),
            sql.SQL("" if column.nullable else " NOT NULL"),
        )
        for column in COLUMNS[table]
    ]
    statuses = sql.SQL(", ").join(sql.Literal(status) for status in ORDER_STATUSES)
    constraints = [
        sql.SQL(constraint).format(schema=sql.Identifier(schema), statuses=statuses)
        for constraint in _CONSTRAINTS[table]
    ]
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
        qualified(schema, table), sql.SQL(", ").join([*columns, *constraints])
    )


def schema_ddl(schema: str = "public") -> list[sql.Composed]:
    """Every statement that creates the schema, its tables and indexes (all idempotent)."""
    check_schema_name(schema)
    return [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)),
        table_ddl(schema, "customers"),
        table_ddl(schema, "orders"),
        # Cascading deletes and the workload's per-customer lookups go through this index.
        sql.SQL("CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON {} (customer_id)").format(
            qualified(schema, "orders")
        ),
    ]


def create_schema(connection: psycopg.Connection[Any], schema: str = "public") -> None:
    """Create the schema, tables and indexes unless they exist, and commit."""
    with connection.transaction():
        # Serializes concurrent creators of the same schema (IF NOT EXISTS alone can race).
        connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"sandbox:{schema}",))
        for statement in schema_ddl(schema):
            connection.execute(statement)
    connection.commit()


def drop_schema(connection: psycopg.Connection[Any], schema: str) -> None:
    """Drop a (test) schema and everything in it, and commit."""
    connection.execute(
        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(check_schema_name(schema))
        )
    )
    connection.commit()


def tables_exist(connection: psycopg.Connection[Any], schema: str) -> bool:
    """Whether both sandbox tables exist in ``schema``."""
    for table in TABLES:
        found = connection.execute(
            "SELECT to_regclass(%s)", (f"{check_schema_name(schema)}.{table}",)
        ).fetchone()
        if found is None or found[0] is None:
            return False
    return True
