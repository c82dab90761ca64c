"""Commit-to-mirror latency of CDC under a steady load, against the sink's batch interval.

    .venv/bin/python bench/run.py --only cdc_steady [--rate 1000] [--seconds 60]

A fresh schema with its own connector, processor and sink (``bench/cdc_rig.py``), all
running; once the initial snapshot is mirrored, the warm-up runs the load for 10 s, then
each run writes ``BENCH_CDC_RATE`` changes/s (default 1,000) for
``BENCH_CDC_SECONDS`` (default 60) and waits until the sink has caught up.

The delay is measured per row in SQL, ``_synced_at - updated_at`` over the rows of both
mirrors the run touched last (the workload stamps updated_at right before its commit; the
sink stamps _synced_at in its merge transaction), and from the sink's own histogram
(source commit time to warehouse commit, difference of two scrapes). Baseline: the sink's
batch interval, the longest a record waits for its batch when the sink is idle.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdc_rig import TABLES, CdcRig
from bench.harness import Result, medians_of, report
from headwater.postgres import verified
from headwater.settings import load_settings
from sandbox.workload import run_workload

RATE = float(os.environ.get("BENCH_CDC_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_CDC_SECONDS", "60"))
WARMUP_S = 10.0
HISTOGRAM = "headwater_sink_commit_latency_seconds_bucket"


def _row_delays(rig: CdcRig, since: float) -> dict[str, float]:
    """Quantiles of ``_synced_at - updated_at`` over the mirror rows stamped since ``since``."""
    rows = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "SELECT extract(epoch FROM _synced_at - updated_at)::float8 AS d FROM {} "
            "WHERE updated_at >= to_timestamp(%(since)s)"
        ).format(sql.Identifier(rig.schema, f"src_{table}"))
        for table in TABLES
    )
    query = sql.SQL(
        "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY d), max(d) FROM ({}) AS t"
    ).format(rows)
    with psycopg.connect(verified(rig.warehouse_dsn)) as warehouse:
        found = warehouse.execute(query, {"since": since}).fetchone()
    if found is None or not found[0]:
        raise AssertionError("no mirror row was stamped during the run")
    return {"rows": float(found[0]), "p50": found[1], "p99": found[2], "max": found[3]}


def _buckets(rig: CdcRig) -> dict[float, float]:
    """The sink's cumulative commit-latency buckets, by upper bound."""
    buckets: dict[float, float] = {}
    for line in rig.sink.metrics().splitlines():
        if line.startswith(HISTOGRAM):
            series, _, value = line.rpartition(" ")
            le = series.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(le)] = buckets.get(float(le), 0.0) + float(value)
    return buckets


def histogram_quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """Prometheus' histogram_quantile over the difference of two scrapes of the buckets."""
    buckets = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    rank = q * (buckets[-1][1] if buckets else 0.0)
    previous_le, previous_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank and count > 0:
            if le == float("inf"):
                return previous_le
            span = count - previous_count
            fraction = (rank - previous_count) / span if span else 1.0
            return previous_le + (le - previous_le) * fraction
        previous_le, previous_count = le, count
    return float("nan")


def _steady(rig: CdcRig, seconds: float, seed: int) -> dict[str, float]:
    before = _buckets(rig)
    since = time.time()
    load = run_workload(rig.source_dsn, rate=RATE, duration_s=seconds, seed=seed, schema=rig.schema)
    rig.wait_caught_up()
    after = _buckets(rig)
    return {
        "rate": load.rate,
        "changes": load.changes,
        **{f"row {k}": v for k, v in _row_delays(rig, since).items()},
        "histogram p50": histogram_quantile(0.5, before, after),
        "histogram p99": histogram_quantile(0.99, before, after),
    }


def cases() -> list[Result]:
    """p50, p99 and max commit-to-mirror delay per row; the sink's own p50 and p99."""
    interval = load_settings().sink.batch_interval_s
    seeds = iter(range(300, 400))
    with CdcRig() as rig:
        rig.wait_caught_up()  # the initial snapshot
        rig.check_mirrors()
        figures = medians_of(
            lambda: _steady(rig, SECONDS, next(seeds)),
            warmup=lambda: _steady(rig, min(WARMUP_S, SECONDS), next(seeds)),
        )
        rig.check_mirrors()
    load = f"{RATE:,.0f} changes/s for {SECONDS:.0f} s"
    baseline = "sink batch interval"
    results = [
        Result(
            "cdc steady: rate achieved",
            figures["rate"],
            "changes/s",
            RATE,
            "target",
            f"{figures['changes']:,.0f} changes per run",
        )
    ]
    for name in ("p50", "p99", "max"):
        results.append(
            Result(
                f"cdc steady: commit to mirror {name} (per row, SQL)",
                figures[f"row {name}"],
                "s",
                interval,
                baseline,
                f"{load}; {figures['row rows']:,.0f} rows stamped per run",
            )
        )
    for name in ("p50", "p99"):
        results.append(
            Result(
                f"cdc steady: commit to mirror {name} (sink histogram)",
                figures[f"histogram {name}"],
                "s",
                interval,
                baseline,
                f"{load}; source commit time to warehouse commit",
            )
        )
    return results


if __name__ == "__main__":
    report(cases(), Path(".bench/cdc_steady.json"))
