"""Runs the workload: plans transactions, paces them and commits them until told to stop."""

from __future__ import annotations

import threading

from sandbox.source_db.schema import check_schema_name
from sandbox.source_db.values import seeded_random
from sandbox.workload.executor import SourceSession
from sandbox.workload.pacing import Pacer
from sandbox.workload.planner import MAX_TRANSACTION_SIZE, TransactionPlanner
from sandbox.workload.stats import WorkloadStats


def run_workload(
    dsn: str,
    rate: float | None = 1_000.0,
    duration_s: float | None = None,
    changes: int | None = None,
    seed: int = 1,
    schema: str = "public",
    stop: threading.Event | None = None,
    max_attempts: int = 8,
) -> WorkloadStats:
    """Insert, update and delete rows at ``rate`` changes/s (None: as fast as possible).

    Runs until ``duration_s`` seconds have passed, ``changes`` row changes are committed
    (the last transaction may go a few over, by cascade) or ``stop`` is set, whichever
    comes first. The schema must exist (see :func:`sandbox.source_db.prepare_source`);
    one workload at a time per schema, since it chooses the primary keys itself.
    """
    if duration_s is None and changes is None and stop is None:
        raise ValueError("give duration_s, changes or stop, or the workload never ends")
    check_schema_name(schema)
    stop = stop or threading.Event()
    stats = WorkloadStats(target_rate=rate)
    with SourceSession(dsn, schema, max_attempts=max_attempts) as session:
        planner = TransactionPlanner(session.load_keyspace(), seeded_random(seed))
        pacer = Pacer(rate, sleep=stop.wait)
        while not stop.is_set():
            done = stats.changes
            remaining = MAX_TRANSACTION_SIZE if changes is None else changes - done
            if remaining <= 0:
                break
            if duration_s is not None and max(pacer.due(done), pacer.elapsed()) >= duration_s:
                break
            pacer.wait(done)
            if stop.is_set():
                break
            stats.record(session.run(planner.plan(max_changes=remaining)))
        stats.elapsed_s = pacer.elapsed()
        stats.retries = session.retries
    return stats
