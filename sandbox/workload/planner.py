"""Plans the workload's transactions: which rows change, how, and in what mix.

About half of the changes are inserts, a third updates and the rest deletes; a
transaction holds one to six of them, across both tables. Among them: status steps
(pending -> paid -> shipped, cancellations, refunds), amount corrections, updates of only
small columns of orders whose notes are TOASTed (Debezium then sees the unchanged-TOAST
placeholder), nullable columns set to NULL and back, deletes of orders and, now and
then, of a customer with its orders, and inserts of previously deleted keys.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from sandbox.source_db import rows
from sandbox.workload.changes import Change, Delete, Insert, Update
from sandbox.workload.keyspace import KeySpace

OP_MIX: Final = {"insert": 50, "update": 35, "delete": 15}
UPDATE_MIX: Final = {
    "order_status": 40,
    "order_amount": 8,
    "order_toast_untouched": 12,
    "order_optional": 12,
    "order_notes": 4,
    "customer_profile": 12,
    "customer_optional": 12,
}
TRANSACTION_SIZES: Final = {1: 28, 2: 24, 3: 18, 4: 13, 5: 10, 6: 7}
MAX_TRANSACTION_SIZE: Final = max(TRANSACTION_SIZES)
REINSERT_SHARE: Final = 0.08  # of inserts, when a deleted key is known
NEW_CUSTOMER_SHARE: Final = 0.2  # of (non-re-)inserts
CUSTOMER_DELETE_SHARE: Final = 0.05  # of deletes; each takes the customer's orders along


def utc_now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class TransactionPlanner:
    """Draws the next transaction's changes from a seeded generator and a key space."""

    def __init__(
        self,
        keyspace: KeySpace,
        rng: random.Random,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.keyspace = keyspace
        self.rng = rng
        self.clock = clock

    def plan(self, max_changes: int = MAX_TRANSACTION_SIZE) -> list[Change]:
        """The changes of the next transaction (at least one), applied to the key space."""
        size = int(_pick(self.rng, {str(k): w for k, w in TRANSACTION_SIZES.items()}))
        now = self.clock()
        changes: list[Change] = []
        for _ in range(max(1, min(size, max_changes))):
            change = self._next(now)
            self.keyspace.apply(change)
            changes.append(change)
        return changes

    def _next(self, now: datetime) -> Change:
        op = _pick(self.rng, OP_MIX)
        change: Change | None = None
        if op == "update":
            change = self._update(now)
        elif op == "delete":
            change = self._delete()
        # An empty table has nothing to update or delete: insert instead.
        return change or self._insert(now)

    def _insert(self, now: datetime) -> Insert:
        keys, rng = self.keyspace, self.rng
        if (keys.deleted_customers or keys.deleted_orders) and rng.random() < REINSERT_SHARE:
            if keys.deleted_orders and keys.customers and rng.random() < 0.7:
                order_id = keys.deleted_orders.choice(rng)
                customer_id = keys.customers.choice(rng)
                return Insert("orders", rows.order(rng, order_id, customer_id, now), True)
            if keys.deleted_customers:
                customer_id = keys.deleted_customers.choice(rng)
                return Insert("customers", rows.customer(rng, customer_id, now), True)
        if not keys.customers or rng.random() < NEW_CUSTOMER_SHARE:
            return Insert("customers", rows.customer(rng, keys.next_customer_id, now))
        customer_id = keys.customers.choice(rng)
        return Insert("orders", rows.order(rng, keys.next_order_id, customer_id, now))

    def _delete(self) -> Delete | None:
        keys, rng = self.keyspace, self.rng
        if keys.customers and (not keys.orders or rng.random() < CUSTOMER_DELETE_SHARE):
            return Delete("customers", keys.customers.choice(rng))
        if keys.orders:
            return Delete("orders", keys.orders.choice(rng))
        return None

    def _update(self, now: datetime) -> Update | None:
        keys, rng = self.keyspace, self.rng
        kind = _pick(rng, UPDATE_MIX)
        if kind.startswith("customer") or not keys.orders:
            if not keys.customers:
                return None
            customer_id = keys.customers.choice(rng)
            if kind == "customer_profile":
                values = rows.customer_profile(rng, customer_id, now)
            else:
                kind, values = "customer_optional", rows.customer_optional(rng, customer_id, now)
            return Update("customers", customer_id, values, kind)
        if kind == "order_toast_untouched" and keys.toasted_orders:
            order_id = keys.toasted_orders.choice(rng)
            return Update("orders", order_id, rows.order_small_columns(rng, now), kind)
        order_id = keys.orders.choice(rng)
        if kind == "order_status":
            step = rows.status_change(rng, keys.order_facts[order_id].status, now)
            if step is not None:
                return Update("orders", order_id, step, kind)
        if kind == "order_optional":
            return Update("orders", order_id, rows.order_optional(rng, now), kind)
        if kind == "order_notes":
            return Update("orders", order_id, rows.order_notes(rng, now), kind)
        # An order at the end of its life, or no TOASTed order yet: correct an amount.
        return Update("orders", order_id, rows.order_amount(rng, now), "order_amount")
