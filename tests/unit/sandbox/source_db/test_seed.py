"""Seeded rows are reproducible, numbered from 1, and every order has a seeded customer."""

from __future__ import annotations

import pytest

from sandbox.source_db.seed import SEED_EPOCH, seed_rows


def test_seeded_rows_are_numbered_and_consistent() -> None:
    seeded = list(seed_rows(customers=20, orders=100, seed=3))
    customers = [row for table, row in seeded if table == "customers"]
    orders = [row for table, row in seeded if table == "orders"]
    assert [row["id"] for row in customers] == list(range(1, 21))
    assert [row["id"] for row in orders] == list(range(1, 101))
    assert {row["customer_id"] for row in orders} <= set(range(1, 21))
    assert all(row["updated_at"] == SEED_EPOCH for _, row in seeded)
    assert len({row["status"] for row in orders}) == 5


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert list(seed_rows(10, 50, seed=1)) == list(seed_rows(10, 50, seed=1))
    assert list(seed_rows(10, 50, seed=1)) != list(seed_rows(10, 50, seed=2))


def test_orders_need_customers() -> None:
    with pytest.raises(ValueError, match="customer"):
        list(seed_rows(0, 5, seed=1))
    assert list(seed_rows(0, 0, seed=1)) == []
