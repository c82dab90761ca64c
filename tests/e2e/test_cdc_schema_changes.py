"""The running CDC pipeline follows the source's column changes without a restart.

Real services (`headwater process`, `headwater sink cdc`) on the real stack, during a
workload: a column added, then dropped; columns widened (``integer`` to ``bigint``,
``numeric(12,2)`` to ``numeric(16,4)``, ``smallint`` to ``integer``). Afterwards every
mirror equals its source, the widened columns hold values only the wider type holds, the
dropped column is NULL in every row written since the drop, and the sink neither restarted
nor dead-lettered anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from headwater.settings import Settings
from sandbox.workload import run_workload
from tests.conftest import wait_for
from tests.support.cdc import TABLES, Pipeline, cdc_pipeline
from tests.support.compare import source_in_warehouse
from tests.support.namespace import start_at_the_end_of_shared_topics


@pytest.fixture
def pipeline(settings: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    with cdc_pipeline(settings, tmp_path, customers=200, orders=800) as line:
        yield line


def _mirror_types(line: Pipeline, table: str) -> dict[str, str]:
    with psycopg.connect(line.warehouse_dsn) as warehouse:
        return dict(
            warehouse.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (f'"{line.schema}".src_{table}',),
            ).fetchall()
        )


def test_the_mirror_follows_added_widened_and_dropped_columns(
    pipeline: Pipeline, settings: Settings
) -> None:
    line, schema = pipeline, pipeline.schema
    # The run's processor reads its own orders for the KPIs, and skips the shared topics.
    line.processor.env["HEADWATER_KPIS__ORDERS_TABLE"] = f"{schema}.orders"
    start_at_the_end_of_shared_topics(
        settings.kafka, line.env["HEADWATER_PROCESSOR__APP_ID"], line.warehouse_dsn, {}
    )
    line.run("source", "setup")
    line.processor.start()
    line.sink.start()
    line.run("connectors", "apply")
    wait_for(line.sink.ready, timeout_s=120, what=f"sink ready:\n{line.sink.log_tail()}")
    sink_process = line.sink.process

    with psycopg.connect(line.source_dsn, autocommit=True) as source:
        source.execute(f'ALTER TABLE "{schema}".orders ADD COLUMN legacy_code text')
        source.execute(f"UPDATE \"{schema}\".orders SET legacy_code = 'L' || id WHERE id % 3 = 0")
        run_workload(line.source_dsn, rate=None, changes=800, seed=31, schema=schema)
        source.execute(
            f'ALTER TABLE "{schema}".orders ALTER COLUMN item_count TYPE bigint, '
            "ALTER COLUMN amount TYPE numeric(16,4)"
        )
        source.execute(f'ALTER TABLE "{schema}".customers ALTER COLUMN loyalty_tier TYPE integer')
        source.execute(f'ALTER TABLE "{schema}".orders DROP COLUMN legacy_code')
        dropped_at = source.execute("SELECT pg_current_wal_lsn() - '0/0'").fetchone()
        assert dropped_at is not None
        widest = source.execute(
            f'UPDATE "{schema}".orders SET item_count = 5000000000, amount = 123456789012.3456 '
            f'WHERE id = (SELECT min(id) FROM "{schema}".orders WHERE id % 3 = 0) RETURNING id'
        ).fetchone()
        assert widest is not None
        source.execute(f'UPDATE "{schema}".customers SET loyalty_tier = 40000 WHERE id % 7 = 0')
        run_workload(line.source_dsn, rate=None, changes=800, seed=37, schema=schema)

    with source_in_warehouse(line.warehouse_dsn, line.source_dsn, schema, TABLES) as foreign:
        wait_for(
            lambda: line.mirrors_equal(foreign),
            timeout_s=300,
            interval_s=2,
            what=f"mirrors equal to the source\nsink:\n{line.sink.log_tail()}",
        )
    orders, customers = _mirror_types(line, "orders"), _mirror_types(line, "customers")
    assert (orders["item_count"], orders["amount"], orders["legacy_code"]) == (
        "bigint",
        "numeric(16,4)",
        "text",  # kept: a query that names it still runs
    )
    assert customers["loyalty_tier"] == "integer"
    with psycopg.connect(line.warehouse_dsn) as warehouse:
        mirror = f'"{schema}".src_orders'
        since_drop = warehouse.execute(
            f"SELECT count(*), count(legacy_code) FROM {mirror} WHERE _lsn > %s", dropped_at
        ).fetchone()
        kept = warehouse.execute(
            f"SELECT count(legacy_code) FROM {mirror} WHERE _lsn < %s", dropped_at
        ).fetchone()
        widened = warehouse.execute(
            f"SELECT item_count, legacy_code FROM {mirror} WHERE id = %s", widest
        ).fetchone()
    assert widened == (5_000_000_000, None)
    assert since_drop is not None
    assert since_drop[0] > 0  # rows written after the drop ...
    assert since_drop[1] == 0  # ... all NULL there
    assert kept is not None
    assert kept[0] > 0  # rows not changed since keep their value
    assert line.sink.process is sink_process  # never restarted
    assert line.sink.alive()
    assert line.sink.metric("headwater_sink_records_total", outcome="rejected") == 0
