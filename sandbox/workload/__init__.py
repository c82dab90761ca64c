"""The source database's workload: steady inserts, updates and deletes for CDC to capture.

Call :func:`run_workload` (or ``headwater sandbox workload``) against a schema made by
:func:`sandbox.source_db.prepare_source`.
"""

from __future__ import annotations

from sandbox.workload.runner import run_workload
from sandbox.workload.stats import TableCounts, WorkloadStats

__all__ = ["TableCounts", "WorkloadStats", "run_workload"]
