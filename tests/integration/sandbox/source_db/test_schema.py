"""The sandbox schema on the real PostgreSQL: idempotent, typed as declared, cascading."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from sandbox.source_db import COLUMNS, TABLES, create_schema, tables_exist

_CATALOG_NAMES = {
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
}


def _columns(
    database: psycopg.Connection[Any], schema: str, table: str
) -> list[tuple[str, str, bool]]:
    return [
        (name, type_name, not not_null)
        for name, type_name, not_null in database.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (f"{schema}.{table}",),
        )
    ]


def test_create_schema_is_idempotent_and_keeps_rows(
    source_dsn: str, schema: str, database: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(source_dsn) as connection:
        assert not tables_exist(connection, schema)
        create_schema(connection, schema)
        assert tables_exist(connection, schema)
        connection.execute(
            sql.SQL(
                "INSERT INTO {} (id, external_id, email, full_name, country_code, "
                "marketing_opt_in, created_at, updated_at) "
                "VALUES (1, gen_random_uuid(), 'a@example.com', 'Zoë', 'SE', true, now(), now())"
            ).format(sql.Identifier(schema, "customers"))
        )
        connection.commit()
        create_schema(connection, schema)
        create_schema(connection, schema)
    count = database.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "customers"))
    )
    assert count.fetchone() == (1,)
    for table in TABLES:
        expected = [
            (c.name, _CATALOG_NAMES.get(c.type, c.type), c.nullable) for c in COLUMNS[table]
        ]
        assert _columns(database, schema, table) == expected


def test_deleting_a_customer_cascades_and_identity_is_left_to_cdc(
    source_dsn: str, schema: str, database: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(source_dsn) as connection:
        create_schema(connection, schema)
    customers, orders = sql.Identifier(schema, "customers"), sql.Identifier(schema, "orders")
    database.execute(
        sql.SQL(
            "INSERT INTO {} (id, external_id, email, full_name, country_code, marketing_opt_in, "
            "created_at, updated_at) VALUES (7, gen_random_uuid(), 'b@example.com', 'Łukasz', "
            "'PL', false, now(), now())"
        ).format(customers)
    )
    database.execute(
        sql.SQL(
            "INSERT INTO {} (id, customer_id, status, amount, currency, item_count, priority, "
            "line_items, created_at, updated_at) "
            "VALUES (1, 7, 'pending', 12.50, 'EUR', 1, 0, '[]', now(), now()), "
            "(2, 7, 'paid', 3.99, 'EUR', 1, 0, '[]', now(), now())"
        ).format(orders)
    )
    database.execute(sql.SQL("DELETE FROM {} WHERE id = 7").format(customers))
    assert database.execute(sql.SQL("SELECT count(*) FROM {}").format(orders)).fetchone() == (0,)
    identities = database.execute(
        "SELECT relname, relreplident FROM pg_class WHERE relnamespace = %s::regnamespace "
        "AND relkind = 'r' ORDER BY relname",
        (schema,),
    ).fetchall()
    assert identities == [("customers", "d"), ("orders", "d")]
