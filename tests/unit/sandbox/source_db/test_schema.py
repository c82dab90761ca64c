"""The schema's DDL covers every promised column type and is safe for any schema name."""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb

from headwater.errors import Terminal
from sandbox.source_db.errors import InvalidSchemaName
from sandbox.source_db.schema import COLUMNS, adapt, check_schema_name, schema_ddl

PROMISED_TYPES = {
    "smallint",
    "integer",
    "bigint",
    "numeric(12,2)",
    "numeric(14,4)",
    "text",
    "boolean",
    "date",
    "timestamp",
    "timestamptz",
    "jsonb",
    "uuid",
}


def test_every_promised_type_is_used_and_nullable_somewhere() -> None:
    columns = [column for table in COLUMNS.values() for column in table]
    assert {column.type for column in columns} == PROMISED_TYPES
    assert {column.type for column in columns if column.nullable} == PROMISED_TYPES
    assert not any("float" in column.type or "double" in column.type for column in columns)


def test_orders_carry_attribution_and_a_text_for_toast() -> None:
    orders = {column.name: column for column in COLUMNS["orders"]}
    for name in ("utm_source", "utm_campaign", "campaign_id", "notes"):
        assert orders[name].type == "text"
        assert orders[name].nullable
    assert orders["amount"].type == "numeric(12,2)"
    assert orders["customer_id"].type == "bigint"


def test_ddl_is_idempotent_and_names_the_schema() -> None:
    statements = [statement.as_string() for statement in schema_ddl("shop_1")]
    assert statements[0] == 'CREATE SCHEMA IF NOT EXISTS "shop_1"'
    assert all("IF NOT EXISTS" in statement for statement in statements)
    orders = statements[2]
    assert 'CREATE TABLE IF NOT EXISTS "shop_1"."orders"' in orders
    assert 'REFERENCES "shop_1".customers (id) ON DELETE CASCADE' in orders
    assert "CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded'))" in orders
    assert "serial" not in " ".join(statements).lower()
    assert "REPLICA IDENTITY" not in " ".join(statements)


@pytest.mark.parametrize("name", ["Public", "1abc", "a-b", "x; DROP TABLE y", "", "a" * 64])
def test_names_cdc_cannot_capture_are_refused(name: str) -> None:
    with pytest.raises(InvalidSchemaName) as refused:
        check_schema_name(name)
    assert isinstance(refused.value, Terminal)


def test_adapt_wraps_jsonb_documents_only() -> None:
    adapted = adapt("customers", {"preferences": {"a": 1}, "email": "x@example.com"})
    assert isinstance(adapted["preferences"], Jsonb)
    assert adapted["email"] == "x@example.com"
    assert adapt("customers", {"preferences": None}) == {"preferences": None}
