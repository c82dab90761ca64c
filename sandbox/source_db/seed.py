"""The pre-existing rows of the source database: what Debezium's initial snapshot reads."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg import sql

from sandbox.source_db import rows
from sandbox.source_db.schema import COLUMNS, Table, adapt, create_schema, qualified
from sandbox.source_db.values import seeded_random

# Seeded rows are dated before this instant, so a seed gives the same rows on any day.
SEED_EPOCH: Final = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeedResult:
    """What seeding did: the rows it inserted, or that it found the tables already filled."""

    customers: int
    orders: int
    seeded: bool


def seed_rows(customers: int, orders: int, seed: int) -> Iterator[tuple[Table, rows.Row]]:
    """Customers ``1..customers``, then orders ``1..orders`` of random customers (pure)."""
    if customers < 0 or orders < 0:
        raise ValueError("row counts cannot be negative")
    if orders and not customers:
        raise ValueError("orders need at least one customer")
    rng = seeded_random(seed)
    for customer_id in range(1, customers + 1):
        yield "customers", rows.historic_customer(rng, customer_id, SEED_EPOCH)
    for order_id in range(1, orders + 1):
        customer_id = rng.randint(1, customers)
        yield "orders", rows.historic_order(rng, order_id, customer_id, SEED_EPOCH)


def seed_tables(
    connection: psycopg.Connection[Any],
    schema: str = "public",
    customers: int = 1_000,
    orders: int = 5_000,
    seed: int = 1,
) -> SeedResult:
    """COPY the seeded rows into empty tables and commit; leave filled tables alone."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"sandbox:{schema}",))
        found = connection.execute(
            sql.SQL("SELECT (SELECT count(*) FROM {}), (SELECT count(*) FROM {})").format(
                qualified(schema, "customers"), qualified(schema, "orders")
            )
        ).fetchone()
        assert found is not None
        empty = found == (0, 0)
        if empty:
            _copy(connection, schema, seed_rows(customers, orders, seed))
    connection.commit()
    if not empty:
        return SeedResult(customers=found[0], orders=found[1], seeded=False)
    return SeedResult(customers=customers, orders=orders, seeded=True)


def prepare_source(
    connection: psycopg.Connection[Any],
    schema: str = "public",
    customers: int = 1_000,
    orders: int = 5_000,
    seed: int = 1,
) -> SeedResult:
    """Create the schema (idempotent) and seed it when its tables are empty."""
    create_schema(connection, schema)
    return seed_tables(connection, schema, customers, orders, seed)


def _copy(
    connection: psycopg.Connection[Any], schema: str, seeded: Iterator[tuple[Table, rows.Row]]
) -> None:
    with connection.cursor() as cursor:
        for table, group in itertools.groupby(seeded, key=lambda item: item[0]):
            columns = [column.name for column in COLUMNS[table]]
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                qualified(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cursor.copy(statement) as copy:
                for _, row in group:
                    values = adapt(table, row)
                    copy.write_row([values[name] for name in columns])
