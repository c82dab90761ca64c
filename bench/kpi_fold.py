"""KPI fold: contributions per second into rows that hold 10 or 10,000 orders each.

    .venv/bin/python bench/run.py --only kpi_fold      (no services needed)

The fold stage (``stream_processors.kpis.fold.KpiFold``) is driven the way the runner
drives it: each contribution is decoded and folded, the row's figures encoded, and the
batch's changelog records made (``changes()``) every 5,000 contributions. A row is first
filled with N orders; then orders of that row are updated (new amount, new version), each
update taking away the order's old share and adding the new one. The figure is updates per
second; the baseline is the same with N = 10, so the ratio says how the cost grows with
the row (1.0: not at all).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, median_of
from headwater.settings import Settings
from stream_processors.base import Incoming
from stream_processors.kpis.contributions import ORDERS, Contribution, KpiKey
from stream_processors.kpis.fold import KpiFold

UPDATES = 50_000
ORDERS_IN_ALL = 10_000
BATCH = 5_000


def _row(order: int, per_row: int) -> KpiKey:
    return KpiKey("2026-11-20", "facebook", str(23850000 + order // per_row))


def _record(contribution: Contribution, offset: int) -> Incoming:
    key = contribution.key.encode()
    return Incoming("contributions", 0, offset, key, contribution.encode())


def _updates_per_second(per_row: int) -> float:
    fold = KpiFold(Settings())
    fold.restore(0, [])
    for n in range(ORDERS_IN_ALL):
        values = {"orders": "1", "revenue": f"{n % 500}.25"}
        order = Contribution(_row(n, per_row), ORDERS, f"order-{n}", 1, values)
        fold.process(_record(order, n))
    fold.finish()
    fold.changes()
    records = []
    for n in range(UPDATES):
        number = (n * 7919) % ORDERS_IN_ALL  # all over the orders, every one touched
        values = {"orders": "1", "revenue": f"{n % 300}.75"}
        update = Contribution(_row(number, per_row), ORDERS, f"order-{number}", 2 + n, values)
        records.append(_record(update, ORDERS_IN_ALL + n))
    started = time.perf_counter()
    for index, record in enumerate(records, 1):
        fold.process(record)
        if index % BATCH == 0:
            fold.finish()
            fold.changes()
    fold.finish()
    fold.changes()
    return UPDATES / (time.perf_counter() - started)


def cases() -> list[Result]:
    """The fold's rate with 10 and 10,000 orders per KPI row."""
    small = median_of(lambda: _updates_per_second(10), warmup=lambda: _updates_per_second(10))
    large = median_of(lambda: _updates_per_second(10_000))
    notes = f"{UPDATES:,} updates of {ORDERS_IN_ALL:,} orders, batches of {BATCH:,}"
    return [
        Result("kpi fold, 10 orders per row", small, "contributions/s", notes=notes),
        Result(
            "kpi fold, 10,000 orders per row", large, "contributions/s", small, "10 per row", notes
        ),
    ]
