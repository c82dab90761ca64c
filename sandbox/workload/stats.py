"""What a workload did: committed row changes per table and operation, and its rate."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.source_db.schema import TABLES, Table


@dataclass
class TableCounts:
    """Committed row changes of one table (``reinserts`` are also counted in ``inserts``)."""

    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    reinserts: int = 0

    @property
    def changes(self) -> int:
        """Rows inserted, updated or deleted."""
        return self.inserts + self.updates + self.deletes

    def add(self, other: TableCounts) -> None:
        """Add another count to this one."""
        self.inserts += other.inserts
        self.updates += other.updates
        self.deletes += other.deletes
        self.reinserts += other.reinserts


def _per_table() -> dict[Table, TableCounts]:
    return {table: TableCounts() for table in TABLES}


@dataclass
class TransactionResult:
    """The row changes of one committed transaction."""

    tables: dict[Table, TableCounts] = field(default_factory=_per_table)
    cascaded_deletes: int = 0
    reinserted: list[tuple[Table, int]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Rows inserted, updated or deleted (orders deleted by cascade included)."""
        return sum(counts.changes for counts in self.tables.values())


@dataclass
class WorkloadStats:
    """Totals of a workload run; the rate is committed row changes per second."""

    target_rate: float | None = None
    transactions: int = 0
    retries: int = 0
    elapsed_s: float = 0.0
    cascaded_deletes: int = 0
    tables: dict[Table, TableCounts] = field(default_factory=_per_table)
    reinserted: dict[Table, list[int]] = field(
        default_factory=lambda: {table: [] for table in TABLES}
    )

    def record(self, result: TransactionResult) -> None:
        """Count one committed transaction."""
        self.transactions += 1
        self.cascaded_deletes += result.cascaded_deletes
        for table, counts in result.tables.items():
            self.tables[table].add(counts)
        for table, key in result.reinserted:
            self.reinserted[table].append(key)

    def total(self) -> TableCounts:
        """The counts of both tables together."""
        total = TableCounts()
        for counts in self.tables.values():
            total.add(counts)
        return total

    @property
    def changes(self) -> int:
        """Rows inserted, updated or deleted, in all tables."""
        return self.total().changes

    @property
    def rate(self) -> float:
        """Achieved row changes per second."""
        return self.changes / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> str:
        """A few lines for a terminal: totals, per-table counts and the achieved rate."""
        target = "as fast as possible" if self.target_rate is None else f"{self.target_rate:g}/s"
        lines = [
            f"workload: {self.transactions} transactions, {self.changes} row changes "
            f"in {self.elapsed_s:.1f}s: {self.rate:.1f} changes/s (target {target})",
            f"  {'table':<10} {'inserts':>8} {'updates':>8} {'deletes':>8} {'re-inserts':>10}",
        ]
        for name, counts in [*self.tables.items(), ("total", self.total())]:
            lines.append(
                f"  {name:<10} {counts.inserts:>8} {counts.updates:>8} {counts.deletes:>8} "
                f"{counts.reinserts:>10}"
            )
        lines.append(
            f"  orders deleted by cascade: {self.cascaded_deletes}; "
            f"transactions retried: {self.retries}"
        )
        return "\n".join(lines)
