"""Workload statistics add up per table and in total, and say the achieved rate."""

from __future__ import annotations

from sandbox.workload.stats import TableCounts, TransactionResult, WorkloadStats


def test_record_and_summary() -> None:
    stats = WorkloadStats(target_rate=1000.0)
    result = TransactionResult()
    result.tables["customers"] = TableCounts(inserts=1, deletes=1)
    result.tables["orders"] = TableCounts(inserts=2, updates=3, deletes=4, reinserts=1)
    result.cascaded_deletes = 3
    result.reinserted.append(("orders", 17))
    assert result.changes == 11
    stats.record(result)
    stats.record(result)
    stats.elapsed_s = 2.0
    assert stats.transactions == 2
    assert stats.changes == 22
    assert stats.rate == 11.0
    assert stats.total() == TableCounts(inserts=6, updates=6, deletes=10, reinserts=2)
    assert stats.reinserted == {"customers": [], "orders": [17, 17]}
    summary = stats.summary()
    assert "2 transactions, 22 row changes in 2.0s: 11.0 changes/s (target 1000/s)" in summary
    assert "orders deleted by cascade: 6" in summary


def test_rate_of_nothing_is_zero() -> None:
    assert WorkloadStats().rate == 0.0
