"""The key space tracks live and deleted keys, cascades, and TOASTed orders."""

from __future__ import annotations

import pytest

from sandbox.source_db.values import seeded_random
from sandbox.workload.changes import Delete, Insert, Update
from sandbox.workload.keyspace import KeySpace, RandomSet


def test_random_set_adds_discards_and_chooses() -> None:
    items: RandomSet[int] = RandomSet()
    for n in (1, 2, 3, 2):
        items.add(n)
    assert len(items) == 3
    items.discard(1)
    items.discard(42)
    assert sorted(items) == [2, 3]
    assert 1 not in items
    rng = seeded_random(0)
    assert {items.choice(rng) for _ in range(50)} == {2, 3}
    items.discard(2)
    items.discard(3)
    with pytest.raises(IndexError):
        items.choice(rng)


def test_deleting_a_customer_cascades_to_its_orders() -> None:
    keys = KeySpace()
    keys.add_customer(1)
    keys.add_customer(2)
    keys.add_order(10, 1, "paid", toasted=True)
    keys.add_order(11, 1, "pending", toasted=False)
    keys.add_order(12, 2, "pending", toasted=False)
    assert keys.remove_customer(1) == [10, 11]
    assert sorted(keys.orders) == [12]
    assert sorted(keys.deleted_orders) == [10, 11]
    assert sorted(keys.deleted_customers) == [1]
    assert len(keys.toasted_orders) == 0
    assert (keys.next_customer_id, keys.next_order_id) == (3, 13)


def test_apply_follows_inserts_updates_and_deletes() -> None:
    keys = KeySpace()
    keys.apply(Insert("customers", {"id": 5}))
    keys.apply(Insert("orders", {"id": 9, "customer_id": 5, "status": "pending", "notes": None}))
    keys.apply(Update("orders", 9, {"status": "paid", "notes": "x" * 9000}, "order_notes"))
    assert keys.order_facts[9].status == "paid"
    assert 9 in keys.toasted_orders
    keys.apply(Update("orders", 9, {"notes": None}, "order_notes"))
    assert 9 not in keys.toasted_orders
    keys.apply(Delete("orders", 9))
    assert 9 in keys.deleted_orders
    keys.apply(
        Insert("orders", {"id": 9, "customer_id": 5, "status": "pending", "notes": ""}, True)
    )
    assert 9 in keys.orders
    assert 9 not in keys.deleted_orders
    assert keys.next_order_id == 10
