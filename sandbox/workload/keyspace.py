"""What the workload knows about the source tables: live keys, order states, deleted keys.

The planner reads it to pick rows that exist (and keys that were deleted, to insert them
again) and applies every change it plans, so the changes of one transaction stay
consistent with each other.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from sandbox.source_db.values import TOAST_MIN_BYTES
from sandbox.workload.changes import Change, Delete, Insert, Update

K = TypeVar("K", bound=Hashable)


class RandomSet(Generic[K]):
    """A set with O(1) add, discard and uniform random choice (and a reproducible order)."""

    def __init__(self) -> None:
        self._items: list[K] = []
        self._index: dict[K, int] = {}

    def add(self, item: K) -> None:
        """Add ``item`` unless present."""
        if item not in self._index:
            self._index[item] = len(self._items)
            self._items.append(item)

    def discard(self, item: K) -> None:
        """Remove ``item`` if present (the last item takes its slot)."""
        slot = self._index.pop(item, None)
        if slot is None:
            return
        last = self._items.pop()
        if slot < len(self._items):
            self._items[slot] = last
            self._index[last] = slot

    def choice(self, rng: random.Random) -> K:
        """A uniformly random item; IndexError when empty."""
        if not self._items:
            raise IndexError("choice from an empty RandomSet")
        return self._items[rng.randrange(len(self._items))]

    def __contains__(self, item: object) -> bool:
        return item in self._index

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)


@dataclass
class OrderFacts:
    """What the planner needs to know about one order."""

    customer_id: int
    status: str
    toasted: bool


def is_toasted(notes: object) -> bool:
    """Whether a ``notes`` value is one PostgreSQL stores out of line."""
    return isinstance(notes, str) and len(notes.encode()) >= TOAST_MIN_BYTES


class KeySpace:
    """The live and deleted keys of customers and orders, kept in step with planned changes."""

    def __init__(self, next_customer_id: int = 1, next_order_id: int = 1) -> None:
        self.customers: RandomSet[int] = RandomSet()
        self.orders: RandomSet[int] = RandomSet()
        self.toasted_orders: RandomSet[int] = RandomSet()
        self.deleted_customers: RandomSet[int] = RandomSet()
        self.deleted_orders: RandomSet[int] = RandomSet()
        self.order_facts: dict[int, OrderFacts] = {}
        self.orders_of: dict[int, set[int]] = {}
        self.next_customer_id = next_customer_id
        self.next_order_id = next_order_id

    def add_customer(self, customer_id: int) -> None:
        """A customer row exists now."""
        self.customers.add(customer_id)
        self.orders_of.setdefault(customer_id, set())
        self.deleted_customers.discard(customer_id)
        self.next_customer_id = max(self.next_customer_id, customer_id + 1)

    def add_order(self, order_id: int, customer_id: int, status: str, toasted: bool) -> None:
        """An order row exists now."""
        self.orders.add(order_id)
        self.order_facts[order_id] = OrderFacts(customer_id, status, toasted)
        self.orders_of.setdefault(customer_id, set()).add(order_id)
        if toasted:
            self.toasted_orders.add(order_id)
        self.deleted_orders.discard(order_id)
        self.next_order_id = max(self.next_order_id, order_id + 1)

    def remove_order(self, order_id: int) -> None:
        """An order row is gone; its key may come back."""
        facts = self.order_facts.pop(order_id, None)
        if facts is not None:
            self.orders_of.get(facts.customer_id, set()).discard(order_id)
        self.orders.discard(order_id)
        self.toasted_orders.discard(order_id)
        self.deleted_orders.add(order_id)

    def remove_customer(self, customer_id: int) -> list[int]:
        """A customer row is gone, and its orders with it; returns those orders' keys."""
        cascaded = sorted(self.orders_of.pop(customer_id, set()))
        for order_id in cascaded:
            self.remove_order(order_id)
        self.customers.discard(customer_id)
        self.deleted_customers.add(customer_id)
        return cascaded

    def apply(self, change: Change) -> None:
        """Bring the key space up to date with one planned change."""
        if isinstance(change, Insert):
            if change.table == "customers":
                self.add_customer(change.key)
            else:
                customer_id, status = change.row["customer_id"], change.row["status"]
                assert isinstance(customer_id, int)
                assert isinstance(status, str)
                self.add_order(change.key, customer_id, status, is_toasted(change.row["notes"]))
        elif isinstance(change, Update):
            facts = self.order_facts.get(change.key) if change.table == "orders" else None
            if facts is None:
                return
            if isinstance(status := change.values.get("status"), str):
                facts.status = status
            if "notes" in change.values:
                facts.toasted = is_toasted(change.values["notes"])
                if facts.toasted:
                    self.toasted_orders.add(change.key)
                else:
                    self.toasted_orders.discard(change.key)
        elif isinstance(change, Delete):
            if change.table == "customers":
                self.remove_customer(change.key)
            else:
                self.remove_order(change.key)
