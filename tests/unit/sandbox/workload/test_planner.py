"""The planner's transactions: the mix, their sizes, reproducibility, and valid changes only."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sandbox.source_db.seed import seed_rows
from sandbox.source_db.values import seeded_random
from sandbox.workload.changes import Change, Delete, Insert, Update
from sandbox.workload.keyspace import KeySpace, is_toasted
from sandbox.workload.planner import MAX_TRANSACTION_SIZE, TransactionPlanner

NOW = datetime(2025, 6, 1, tzinfo=UTC)


class FakeTables:
    """Customers and orders with PostgreSQL's rules (keys, foreign key, cascade), in memory."""

    def __init__(self) -> None:
        self.customers: dict[int, dict[str, object]] = {}
        self.orders: dict[int, dict[str, object]] = {}
        self.deleted: set[tuple[str, int]] = set()

    def apply(self, change: Change) -> None:
        rows = self.customers if change.table == "customers" else self.orders
        if isinstance(change, Insert):
            assert change.key not in rows, f"duplicate key: {change}"
            if change.table == "orders":
                assert change.row["customer_id"] in self.customers, "foreign key violated"
            rows[change.key] = dict(change.row)
        elif isinstance(change, Update):
            assert change.key in rows, f"update of a missing row: {change.kind}"
            rows[change.key].update(change.values)
        elif isinstance(change, Delete):
            assert change.key in rows, f"delete of a missing row: {change.kind}"
            del rows[change.key]
            self.deleted.add((change.table, change.key))
            if change.table == "customers":
                for order_id in [
                    k for k, o in self.orders.items() if o["customer_id"] == change.key
                ]:
                    del self.orders[order_id]
                    self.deleted.add(("orders", order_id))


def _seeded(seed: int = 1) -> tuple[KeySpace, FakeTables]:
    keys, tables = KeySpace(), FakeTables()
    for table, row in seed_rows(customers=100, orders=500, seed=seed):
        change = Insert(table, row)
        keys.apply(change)
        tables.apply(change)
    return keys, tables


def _run(seed: int, changes: int) -> tuple[list[list[Change]], FakeTables]:
    keys, tables = _seeded()
    planner = TransactionPlanner(keys, seeded_random(seed), clock=lambda: NOW)
    transactions: list[list[Change]] = []
    planned = 0
    while planned < changes:
        transaction = planner.plan()
        for change in transaction:
            tables.apply(change)
        transactions.append(transaction)
        planned += len(transaction)
    return transactions, tables


def test_mix_is_half_inserts_a_third_updates_the_rest_deletes() -> None:
    transactions, _ = _run(seed=11, changes=20_000)
    ops = Counter(change.op for transaction in transactions for change in transaction)
    total = sum(ops.values())
    assert abs(ops["insert"] / total - 0.50) < 0.03
    assert abs(ops["update"] / total - 0.35) < 0.03
    assert abs(ops["delete"] / total - 0.15) < 0.03


def test_every_kind_of_change_appears() -> None:
    transactions, _ = _run(seed=11, changes=5_000)
    kinds = Counter(change.kind for transaction in transactions for change in transaction)
    assert set(kinds) == {
        "insert_customer",
        "insert_order",
        "reinsert_customer",
        "reinsert_order",
        "order_status",
        "order_amount",
        "order_toast_untouched",
        "order_optional",
        "order_notes",
        "customer_profile",
        "customer_optional",
        "delete_order",
        "delete_customer",
    }


def test_transactions_hold_one_to_six_changes_across_tables() -> None:
    transactions, _ = _run(seed=5, changes=5_000)
    sizes = Counter(len(transaction) for transaction in transactions)
    assert set(sizes) == set(range(1, MAX_TRANSACTION_SIZE + 1))
    mixed = [
        t for t in transactions if len({c.table for c in t}) == 2 and len({c.op for c in t}) > 1
    ]
    assert len(mixed) > len(transactions) / 10


def test_changes_are_valid_against_the_tables_and_the_key_space_agrees() -> None:
    keys, tables = _seeded()
    planner = TransactionPlanner(keys, seeded_random(3), clock=lambda: NOW)
    for _ in range(3_000):
        for change in planner.plan():
            tables.apply(change)  # raises on a duplicate key, a missing row or a broken FK
    assert set(keys.customers) == set(tables.customers)
    assert set(keys.orders) == set(tables.orders)
    for order_id, row in tables.orders.items():
        assert keys.order_facts[order_id].status == row["status"]
        assert keys.order_facts[order_id].toasted == is_toasted(row["notes"])


def test_toast_untouched_updates_hit_toasted_orders_and_spare_notes() -> None:
    keys, _ = _seeded()
    planner = TransactionPlanner(keys, seeded_random(8), clock=lambda: NOW)
    seen = 0
    for _ in range(2_000):
        toasted_before = set(keys.toasted_orders)
        for change in planner.plan(max_changes=1):
            if change.kind == "order_toast_untouched":
                assert isinstance(change, Update)
                assert change.key in toasted_before
                assert "notes" not in change.values
                seen += 1
    assert seen > 20


def test_reinserts_reuse_deleted_keys() -> None:
    keys, tables = _seeded()
    planner = TransactionPlanner(keys, seeded_random(2), clock=lambda: NOW)
    reinserts = 0
    for _ in range(2_000):
        for change in planner.plan():
            if isinstance(change, Insert):
                assert ((change.table, change.key) in tables.deleted) == change.reinsert
                reinserts += change.reinsert
            tables.apply(change)
    assert reinserts > 50


def test_same_seed_same_plan() -> None:
    first, _ = _run(seed=21, changes=1_000)
    again, _ = _run(seed=21, changes=1_000)
    other, _ = _run(seed=22, changes=1_000)
    assert first == again
    assert first != other


def test_max_changes_caps_a_transaction_and_empty_tables_get_inserts() -> None:
    planner = TransactionPlanner(KeySpace(), seeded_random(1), clock=lambda: NOW)
    first = planner.plan(max_changes=1)
    assert len(first) == 1
    assert isinstance(first[0], Insert)
    assert first[0].table == "customers"
