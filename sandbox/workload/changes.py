"""The row changes a workload transaction is made of: inserts, updates and deletes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from sandbox.source_db.rows import Row
from sandbox.source_db.schema import Table

Op = Literal["insert", "update", "delete"]

_SINGULAR: dict[Table, str] = {"customers": "customer", "orders": "order"}


@dataclass(frozen=True)
class Insert:
    """Insert one row; ``reinsert`` when its key was deleted earlier in the workload."""

    table: Table
    row: Row
    reinsert: bool = False

    op: ClassVar[Op] = "insert"

    @property
    def key(self) -> int:
        """The row's primary key."""
        key = self.row["id"]
        assert isinstance(key, int)
        return key

    @property
    def kind(self) -> str:
        """What kind of change this is, for the mix and the logs."""
        return f"{'reinsert' if self.reinsert else 'insert'}_{_SINGULAR[self.table]}"


@dataclass(frozen=True)
class Update:
    """Set some columns of the row with primary key ``key``."""

    table: Table
    key: int
    values: Row
    kind: str

    op: ClassVar[Op] = "update"


@dataclass(frozen=True)
class Delete:
    """Delete the row with primary key ``key`` (a customer's orders go with it, by cascade)."""

    table: Table
    key: int

    op: ClassVar[Op] = "delete"

    @property
    def kind(self) -> str:
        """What kind of change this is, for the mix and the logs."""
        return f"delete_{_SINGULAR[self.table]}"


Change = Insert | Update | Delete


def describe(change: Change) -> str:
    """One line naming the change, for errors."""
    return f"{change.kind} ({change.table} id={change.key})"
