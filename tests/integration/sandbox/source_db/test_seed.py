"""Seeding the real database: the rows arrive once, and a seed reproduces them exactly."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from sandbox.source_db import drop_schema, prepare_source


def _fingerprint(database: psycopg.Connection[Any], schema: str, table: str) -> tuple[int, str]:
    found = database.execute(
        sql.SQL("SELECT count(*), md5(string_agg(t::text, '|' ORDER BY id)) FROM {} AS t").format(
            sql.Identifier(schema, table)
        )
    ).fetchone()
    assert found is not None
    return found[0], found[1]


def test_seeds_empty_tables_once(
    source_dsn: str, schema: str, database: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(source_dsn) as connection:
        first = prepare_source(connection, schema, customers=40, orders=300, seed=5)
        again = prepare_source(connection, schema, customers=99, orders=999, seed=6)
    assert (first.customers, first.orders, first.seeded) == (40, 300, True)
    assert (again.customers, again.orders, again.seeded) == (40, 300, False)
    assert _fingerprint(database, schema, "customers")[0] == 40
    assert _fingerprint(database, schema, "orders")[0] == 300


def test_same_seed_same_rows_in_the_database(
    source_dsn: str, schema: str, database: psycopg.Connection[Any]
) -> None:
    twin = f"{schema}_twin"
    try:
        with psycopg.connect(source_dsn) as connection:
            prepare_source(connection, schema, customers=30, orders=200, seed=8)
            prepare_source(connection, twin, customers=30, orders=200, seed=8)
        for table in ("customers", "orders"):
            assert _fingerprint(database, schema, table) == _fingerprint(database, twin, table)
    finally:
        with psycopg.connect(source_dsn) as connection:
            drop_schema(connection, twin)
