"""CDC throughput and latency through the whole path, on the local stack.

    make stack-up && .venv/bin/python bench/cdc_pipeline.py [--changes 30000] [--seconds 60]

Phase 1 (throughput): the workload generator writes as fast as one connection can; the
figure is source changes per second from the first write until every mirror equals its
source table (checked in SQL). Its baseline is the generator's own rate: the ratio says how
close the pipeline keeps up with the fastest source we can produce here.

Phase 2 (latency): a steady 1,000 changes/s for --seconds; the commit-to-warehouse delay
is measured per row in SQL, ``_synced_at - updated_at`` (the workload stamps updated_at
right before its commit; the sink stamps _synced_at in its merge transaction), and from the
sink's own histogram (source commit time to warehouse commit). Baseline: the sink's batch
interval, the delay a record waits for its batch at most when idle.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from headwater.settings import load_settings
from headwater.stack.launcher import Stack
from sandbox.source_db import drop_schema, prepare_source
from sandbox.workload import run_workload
from tests.support.compare import differences, source_in_warehouse
from tests.support.services import Service, headwater

TABLES = ["customers", "orders"]


def _environment(schema: str, tag: str) -> dict[str, str]:
    settings = load_settings()
    stack = Stack(settings.stack)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    return (
        env
        | stack.environment()
        | {
            "HEADWATER_CDC__TABLES": json.dumps([f"{schema}.{t}" for t in TABLES]),
            "HEADWATER_CDC__CONNECTOR_NAME": f"bench-{tag}",
            "HEADWATER_CDC__SLOT_NAME": f"bench_{tag}",
            "HEADWATER_CDC__PUBLICATION": f"bench_{tag}",
            "HEADWATER_CDC__USER": f"bench_cdc_{tag}",
            "HEADWATER_CDC__PASSWORD": secrets.token_urlsafe(16),
            "HEADWATER_PROCESSOR__APP_ID": f"bench-processor-{tag}",
            "HEADWATER_SINK__CDC_TOPICS": rf"^norm\.cdc\.{schema}\..*",
        }
    )


def _wait_equal(warehouse_dsn: str, foreign: str, schema: str, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with psycopg.connect(warehouse_dsn) as warehouse:
            if all(differences(warehouse, foreign, schema, t) == 0 for t in TABLES):
                return time.monotonic()
        time.sleep(0.5)
    raise TimeoutError("mirrors did not catch up")


def _row_latencies(warehouse_dsn: str, schema: str, since: float) -> dict[str, float]:
    query = sql.SQL(
        "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY d), max(d) FROM ("
        "SELECT extract(epoch FROM _synced_at - updated_at) AS d FROM {} "
        "WHERE updated_at >= to_timestamp(%s)) AS t"
    ).format(sql.Identifier(schema, "src_orders"))
    with psycopg.connect(warehouse_dsn) as warehouse:
        row = warehouse.execute(query, (since,)).fetchone()
    assert row is not None
    return {"rows": row[0], "p50": row[1], "p99": row[2], "max": row[3]}


def _histogram_quantiles(before: dict[float, float], after: dict[float, float]) -> dict[str, float]:
    """histogram_quantile over the difference of two scrapes of cumulative buckets."""
    buckets = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = buckets[-1][1] if buckets else 0.0
    result = {"count": total}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        rank, previous_le, previous_count = q * total, 0.0, 0.0
        for le, count in buckets:
            if count >= rank:
                span = count - previous_count
                fraction = (rank - previous_count) / span if span else 1.0
                result[name] = (
                    previous_le + (le - previous_le) * fraction
                    if le != float("inf")
                    else previous_le
                )
                break
            previous_le, previous_count = le, count
    return result


def _buckets(service: Service) -> dict[float, float]:
    _, body = service.get("/metrics")
    buckets: dict[float, float] = {}
    for line in body.splitlines():
        if line.startswith("headwater_sink_commit_latency_seconds_bucket"):
            series, _, value = line.rpartition(" ")
            le = series.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(le)] = float(value)
    return buckets


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=1_000.0)
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    schema = f"bench_{tag}"
    env = _environment(schema, tag)
    source_dsn, warehouse_dsn = env["HEADWATER_SOURCE__DSN"], env["HEADWATER_WAREHOUSE__DSN"]
    logs = Path(tempfile.mkdtemp(prefix="headwater-bench-"))
    processor = Service("processor", ["process"], env, logs)
    sink = Service("sink", ["sink", "cdc", "--group-id", f"bench-sink-{tag}"], env, logs)
    results: dict[str, Any] = {}
    with psycopg.connect(source_dsn, autocommit=True) as source:
        prepare_source(source, schema=schema, customers=1_000, orders=5_000, seed=5)
    try:
        for command in (["source", "setup"], ["connectors", "apply"]):
            done = headwater(*command, env=env)
            if done.returncode != 0:
                raise SystemExit(f"headwater {' '.join(command)} failed:\n{done.stderr}")
        processor.start()
        sink.start()
        with source_in_warehouse(warehouse_dsn, source_dsn, schema, TABLES) as foreign:
            _wait_equal(warehouse_dsn, foreign, schema, 300)  # the initial snapshot

            started = time.monotonic()
            burst = run_workload(source_dsn, rate=None, changes=args.changes, seed=9, schema=schema)
            caught_up = _wait_equal(warehouse_dsn, foreign, schema, 600)
            results["throughput"] = {
                "changes": burst.changes,
                "source_rate": burst.rate,
                "end_to_end_rate": burst.changes / (caught_up - started),
                "catch_up_s": caught_up - started - burst.elapsed_s,
            }

            histogram_before = _buckets(sink)
            since = time.time()
            steady = run_workload(
                source_dsn, rate=args.rate, duration_s=args.seconds, seed=13, schema=schema
            )
            _wait_equal(warehouse_dsn, foreign, schema, 300)
            results["latency"] = {
                "changes": steady.changes,
                "achieved_rate": steady.rate,
                "rows": _row_latencies(warehouse_dsn, schema, since),
                "sink_histogram": _histogram_quantiles(histogram_before, _buckets(sink)),
            }
    finally:
        sink.stop()
        processor.stop()
        headwater("connectors", "delete", "--drop-slot", env=env)
        with psycopg.connect(source_dsn, autocommit=True) as source:
            source.execute(f'DROP PUBLICATION IF EXISTS "bench_{tag}"')
            source.execute(f'DROP TABLE IF EXISTS headwater_cdc."bench_{tag}_signal"')
            drop_schema(source, schema)
            source.execute(f'DROP OWNED BY "bench_cdc_{tag}"')
            source.execute(f'DROP ROLE IF EXISTS "bench_cdc_{tag}"')
        with psycopg.connect(warehouse_dsn, autocommit=True) as warehouse:
            warehouse.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _report(results, load_settings().sink.batch_interval_s)


def _report(results: dict[str, Any], batch_interval_s: float) -> None:
    throughput, latency = results["throughput"], results["latency"]
    rows, histogram = latency["rows"], latency["sink_histogram"]
    print("\nCDC pipeline benchmark (source -> Debezium -> Faust -> warehouse mirrors)\n")
    print(f"{'figure':<52}{'value':>12}{'baseline':>12}{'ratio':>8}")
    rate, source_rate = throughput["end_to_end_rate"], throughput["source_rate"]
    print(
        f"{'sustained end-to-end changes/s':<52}{rate:>12.0f}"
        f"{source_rate:>12.0f}{rate / source_rate:>8.2f}"
    )
    print(f"{'  (changes in the burst)':<52}{throughput['changes']:>12}")
    print(f"{'  catch-up after the burst ended, s':<52}{throughput['catch_up_s']:>12.1f}")
    print(f"{'steady rate achieved, changes/s':<52}{latency['achieved_rate']:>12.0f}")
    for name in ("p50", "p99"):
        print(
            f"{'commit-to-warehouse ' + name + ' (per row, SQL), s':<52}{rows[name]:>12.3f}"
            f"{batch_interval_s:>12.2f}{rows[name] / batch_interval_s:>8.2f}"
        )
    for name in ("p50", "p99"):
        value = histogram.get(name, float("nan"))
        print(
            f"{'commit-to-warehouse ' + name + ' (sink histogram), s':<52}{value:>12.3f}"
            f"{batch_interval_s:>12.2f}{value / batch_interval_s:>8.2f}"
        )
    label = "  rows sampled / changes observed by the sink"
    print(f"{label:<52}{rows['rows']:>12}{histogram['count']:>12.0f}")


if __name__ == "__main__":
    main()
