"""Generated rows have every column, with Python values of the column's type."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sandbox.campaigns import CAMPAIGNS
from sandbox.source_db import rows
from sandbox.source_db.schema import COLUMNS, ORDER_STATUSES, Table
from sandbox.source_db.values import seeded_random

NOW = datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _is_of_type(value: object, column_type: str) -> bool:
    if column_type in ("smallint", "integer", "bigint"):
        return isinstance(value, int) and not isinstance(value, bool)
    if column_type.startswith("numeric"):
        scale = int(column_type.rstrip(")").split(",")[1])
        return isinstance(value, Decimal) and value.as_tuple().exponent == -scale
    if column_type == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    if column_type == "timestamp":
        return isinstance(value, datetime) and value.tzinfo is None
    if column_type == "timestamptz":
        return isinstance(value, datetime) and value.tzinfo is not None
    expected = {"text": str, "boolean": bool, "jsonb": (dict, list), "uuid": uuid.UUID}
    return isinstance(value, expected[column_type])


def _many(table: Table, seed: int = 5, count: int = 400) -> list[rows.Row]:
    rng = seeded_random(seed)
    if table == "customers":
        return [rows.historic_customer(rng, n, NOW) for n in range(1, count + 1)]
    return [rows.historic_order(rng, n, 1, NOW) for n in range(1, count + 1)]


@pytest.mark.parametrize("table", ["customers", "orders"])
def test_rows_have_every_column_with_its_type_and_nulls_where_allowed(table: Table) -> None:
    generated = _many(table)
    for column in COLUMNS[table]:
        present = [row[column.name] for row in generated]
        assert all(value is None or _is_of_type(value, column.type) for value in present), column
        assert any(value is not None for value in present), column
        if column.nullable:
            assert any(value is None for value in present), column
        if not column.nullable:
            assert all(value is not None for value in present), column
    assert all(list(row) == [column.name for column in COLUMNS[table]] for row in generated)


def test_orders_attribution_comes_from_the_catalog_or_is_null() -> None:
    catalog = {(c.utm_source, c.utm_campaign, c.campaign_id) for c in CAMPAIGNS}
    seen = {(row["utm_source"], row["utm_campaign"], row["campaign_id"]) for row in _many("orders")}
    assert (None, None, None) in seen
    assert seen - {(None, None, None)} <= catalog
    assert len(seen) > 6


def test_some_orders_have_toast_sized_notes() -> None:
    notes = [row["notes"] for row in _many("orders", count=1_000)]
    big = [n for n in notes if isinstance(n, str) and len(n.encode()) > 8192]
    assert 10 < len(big) < 150


def test_new_orders_are_pending_and_unshipped() -> None:
    order = rows.order(seeded_random(1), 7, 3, NOW)
    assert (order["id"], order["customer_id"], order["status"]) == (7, 3, "pending")
    assert order["shipped_at"] is None
    assert order["created_at"] == order["updated_at"] == NOW


def test_same_seed_and_clock_give_the_same_rows() -> None:
    assert _many("orders", seed=9) == _many("orders", seed=9)
    assert _many("customers", seed=9) == _many("customers", seed=9)
    assert _many("customers", seed=9) != _many("customers", seed=10)


def test_status_steps_follow_an_orders_life() -> None:
    rng = seeded_random(2)
    steps: dict[str, set[str]] = {status: set() for status in ORDER_STATUSES}
    for _ in range(2_000):
        for status in ORDER_STATUSES:
            change = rows.status_change(rng, status, NOW)
            if change is not None:
                assert isinstance(change["status"], str)
                steps[status].add(change["status"])
                assert change["updated_at"] == NOW
                assert ("shipped_at" in change) == (change["status"] == "shipped")
    assert steps == {
        "pending": {"paid", "cancelled"},
        "paid": {"shipped", "refunded"},
        "shipped": {"refunded"},
        "cancelled": set(),
        "refunded": set(),
    }


def test_optional_updates_set_nulls_and_values() -> None:
    rng = seeded_random(4)
    customer_updates = [rows.customer_optional(rng, 1, NOW) for _ in range(50)]
    assert any(all(u[c] is None for c in ("phone", "city", "birth_date")) for u in customer_updates)
    assert any(u["phone"] is not None and u["birth_date"] is not None for u in customer_updates)
    order_updates = [rows.order_optional(rng, NOW) for _ in range(50)]
    assert any(u["campaign_id"] is None for u in order_updates)
    assert any(u["campaign_id"] is not None for u in order_updates)


def test_small_column_updates_leave_notes_alone() -> None:
    update = rows.order_small_columns(seeded_random(1), NOW)
    assert "notes" not in update
    assert set(update) <= {c.name for c in COLUMNS["orders"]}
